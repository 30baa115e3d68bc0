/* Test-only, loaded with LD_PRELOAD: the process sees GPTQ_TEST_CPUS
 * processors (when set to a positive number), so that everything sized by the
 * hardware runs on that many threads: the library's "threads": 0 (the CPUs
 * the process may run on, sched_getaffinity, else
 * std::thread::hardware_concurrency, which asks get_nprocs), the CLI's
 * default, OpenBLAS's default count. scripts/test.sh runs the suite under it
 * with 1 on a machine with more cores, so that no golden holds only for the
 * thread count of the machine it was recorded on. The library itself reads no
 * such variable. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/sysinfo.h>
#include <unistd.h>

static int forced_count(void) {
  const char *s = getenv("GPTQ_TEST_CPUS");
  const long n = s ? strtol(s, NULL, 10) : 0;
  return n > 0 && n < 1 << 20 ? (int)n : 0;
}

/* The next definition of `name` (glibc's). POSIX's way to turn dlsym's object
 * pointer into a function pointer without a cast ISO C forbids. */
static void next(const char *name, void *fn) {
  *(void **)fn = dlsym(RTLD_NEXT, name);
}

int get_nprocs(void) {
  const int n = forced_count();
  if (n > 0) return n;
  int (*real)(void);
  next("get_nprocs", &real);
  return real();
}

int get_nprocs_conf(void) {
  const int n = forced_count();
  if (n > 0) return n;
  int (*real)(void);
  next("get_nprocs_conf", &real);
  return real();
}

long sysconf(int name) {
  const int n = forced_count();
  if (n > 0 && (name == _SC_NPROCESSORS_ONLN || name == _SC_NPROCESSORS_CONF)) return n;
  long (*real)(int);
  next("sysconf", &real);
  return real(name);
}

/* The process may run on CPUs 0 .. n-1 only, as under `taskset`. */
int sched_getaffinity(pid_t pid, size_t size, cpu_set_t *set) {
  const int n = forced_count();
  if (n > 0 && (pid == 0 || pid == getpid())) {
    CPU_ZERO_S(size, set);
    for (int cpu = 0; cpu < n && (size_t)cpu < size * 8; ++cpu) CPU_SET_S(cpu, size, set);
    return 0;
  }
  int (*real)(pid_t, size_t, cpu_set_t *);
  next("sched_getaffinity", &real);
  return real(pid, size, set);
}
