/* For `make test-year-ahead`: loaded before libfaketime, so that sleeping is never faked.
 *
 * libfaketime 0.9.10 (Debian 12) shifts the deadline of clock_nanosleep(CLOCK_MONOTONIC,
 * TIMER_ABSTIME), which Python's time.sleep uses, even with FAKETIME_DONT_FAKE_MONOTONIC=1:
 * every sleep fails with EINVAL. The monotonic clock is not faked, so the real call is right.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int clock_nanosleep(clockid_t clock, int flags, const struct timespec *req, struct timespec *rem) {
    return syscall(SYS_clock_nanosleep, clock, flags, req, rem) == 0 ? 0 : errno;
}
