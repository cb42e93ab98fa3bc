/* Host allocations of the library, counted, and the fault-injection test hook
 * (seattn_debug_fault in seattn.h). Every source allocates through these wrappers. */
#include "seattn_internal.h"

#include <stdlib.h>
#include <string.h>

static _Thread_local struct {
    seattn_fault kind;
    uint64_t n, count;
    int fired;
} armed;
static atomic_llong live;

bool seattn__fault_hit(seattn_fault kind) {
    if (armed.kind != kind || armed.n == 0 || armed.fired) return false;
    if (++armed.count != armed.n) return false;
    armed.fired = 1;
    return true;
}

int seattn_debug_fault(seattn_fault kind, uint64_t n) {
    const int fired = armed.fired;
    armed.kind = kind;
    armed.n = n;
    armed.count = 0;
    armed.fired = 0;
    return fired;
}

int64_t seattn_debug_live_allocations(void) {
    return atomic_load(&live);
}

void *seattn__malloc(size_t size) {
    if (seattn__fault_hit(SEATTN_FAULT_HOST_ALLOC)) return NULL;
    void *p = malloc(size ? size : 1);
    if (p) atomic_fetch_add(&live, 1);
    return p;
}

void *seattn__calloc(size_t count, size_t size) {
    if (seattn__fault_hit(SEATTN_FAULT_HOST_ALLOC)) return NULL;
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (p) atomic_fetch_add(&live, 1);
    return p;
}

void *seattn__realloc(void *old, size_t size) {
    if (seattn__fault_hit(SEATTN_FAULT_HOST_ALLOC)) return NULL; /* old stays valid */
    void *p = realloc(old, size ? size : 1);
    if (p && !old) atomic_fetch_add(&live, 1);
    return p;
}

char *seattn__strdup(const char *s) {
    const size_t n = strlen(s) + 1;
    char *p = seattn__malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

void seattn__free(void *p) {
    if (!p) return;
    atomic_fetch_sub(&live, 1);
    free(p);
}
