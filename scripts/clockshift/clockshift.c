/* Shift the wall clock (CLOCK_REALTIME, gettimeofday, time) by JZ_CLOCK_OFFSET seconds.
 *
 * A test tool, never part of the product: `scripts/at-time.sh` preloads it so that `make demo`
 * or `make test` run as if today were another date. Unlike libfaketime it leaves the monotonic
 * clock and every sleep/wait alone, which Python's threads need (libfaketime 0.9.10 hangs or
 * fails with EINVAL there). Every process gets the same constant offset, so they agree. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

static long long offset_seconds(void) {
    static int ready = 0;
    static long long offset = 0;
    if (!ready) {
        const char *text = getenv("JZ_CLOCK_OFFSET");
        offset = text ? atoll(text) : 0;
        ready = 1;
    }
    return offset;
}

static int shifted(clockid_t id) {
    return id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE;
}

int clock_gettime(clockid_t id, struct timespec *ts) {
    static int (*real)(clockid_t, struct timespec *) = 0;
    if (!real) real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
    int rc = real(id, ts);
    if (rc == 0 && ts && shifted(id)) ts->tv_sec += offset_seconds();
    return rc;
}

int gettimeofday(struct timeval *tv, void *tz) {
    static int (*real)(struct timeval *, void *) = 0;
    if (!real) real = (int (*)(struct timeval *, void *))dlsym(RTLD_NEXT, "gettimeofday");
    int rc = real(tv, tz);
    if (rc == 0 && tv) tv->tv_sec += offset_seconds();
    return rc;
}

time_t time(time_t *out) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (out) *out = ts.tv_sec;
    return ts.tv_sec;
}
