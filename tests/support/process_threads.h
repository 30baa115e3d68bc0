// The threads of this process, for tests that check what a context starts and
// stops (Linux: the entries of /proc/self/task); -1 when it cannot be read.
#pragma once

#include <dirent.h>
#include <unistd.h>

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

// process_threads() once it has come down to `expected`, or after a second
// of waiting: a joined thread's entry can stay in /proc/self/task a moment
// after pthread_join returns (the kernel finishes its exit asynchronously),
// which a busy machine makes visible. For counts taken after threads end.
inline int process_threads_after_exit(int expected) {
  int n = process_threads();
  for (int i = 0; i < 100 && n > expected; ++i) {
    ::usleep(10000);
    n = process_threads();
  }
  return n;
}

}  // namespace gptq::testing
