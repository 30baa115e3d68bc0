// The threads of this process, for tests that check what a context starts and
// stops (Linux: the entries of /proc/self/task); -1 when it cannot be read.
#pragma once

#include <dirent.h>

namespace gptq::testing {

inline int process_threads() {
  int n = 0;
  DIR *d = opendir("/proc/self/task");
  if (!d) return -1;
  while (dirent *e = readdir(d))
    if (e->d_name[0] != '.') ++n;
  closedir(d);
  return n;
}

}  // namespace gptq::testing
