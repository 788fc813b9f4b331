/* What the machine is doing, for the thread policy (_common.pyx:
   useful_threads): how many CPUs the other runnable tasks leave free.

   A kernel pass on two threads ends at a barrier that waits for both. When
   another process keeps a CPU busy, the second thread is descheduled for a
   time slice at a time and every barrier waits for it (up to 3x slower than
   one thread, measured here); on an idle CPU it halves the pass. So the
   policy counts the tasks runnable right now: the 4th field of
   /proc/loadavg ("running/total") counts them system-wide, the caller
   included, and the free CPUs are the online ones less the others.

   Reading it costs three system calls (a few microseconds): the policy asks
   only for work that its size alone would give more than one thread. The
   count is a snapshot: it errs towards fewer threads (this process's own
   idle OpenMP workers, spinning briefly after a region, count as others),
   which only costs speed, never a result (results do not depend on the
   thread count). */
#ifndef IWKMEANS_MACHINE_LOAD_H
#define IWKMEANS_MACHINE_LOAD_H

#if defined(__linux__)
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* CPUs that other runnable tasks leave free (at least 0), or -1 if
   /proc/loadavg cannot be read or parsed. */
static int iwk_free_cpus(void) {
  char text[128];
  ssize_t n;
  char *slash, *start;
  long running, online;
  int fd = open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  n = read(fd, text, sizeof(text) - 1);
  close(fd);
  if (n <= 0) return -1;
  text[n] = '\0';
  /* "0.51 0.68 0.92 2/78 10578": the number before the slash. */
  slash = strchr(text, '/');
  if (slash == NULL) return -1;
  start = slash;
  while (start > text && start[-1] >= '0' && start[-1] <= '9') start--;
  if (start == slash) return -1;
  running = strtol(start, NULL, 10);
  online = sysconf(_SC_NPROCESSORS_ONLN);
  if (online < 1 || running < 1) return -1;
  /* running includes the caller. */
  return online - (running - 1) > 0 ? (int) (online - (running - 1)) : 0;
}
#else
static int iwk_free_cpus(void) { return -1; }
#endif

#endif
