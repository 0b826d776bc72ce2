// The slice-thread pool of spin_pool.h.
//
// Each worker has its own ticket word (a cache line of its own). The caller publishes a job (fn,
// context, slices, pending = slices − 1), then bumps the tickets of the workers it needs, waking
// those that are parked. A worker waits for its ticket to move: spinning (`pause`) for up to the
// spin window, then parked on a futex over the ticket. After its slice it decrements `pending`;
// the caller, after its own slice 0, waits for `pending` to reach 0 the same way (spin, then a
// futex over `pending`).
//
// Lost wake-ups are ruled out by the Dekker pattern on sequentially consistent atomics: a waiter
// stores its `sleeping` flag and then reads the word it waits on; the waker writes the word and
// then reads the flag. At least one of the two sees the other's write, so either the waiter does
// not sleep or the waker wakes it (and FUTEX_WAIT itself returns at once if the word has moved).
//
// A worker reads the job's fields only after its ticket moved (acquire), and the caller does not
// publish the next job before `pending` is 0, which the worker's decrement after its slice makes
// it: the fields a worker reads are the job its ticket belongs to.

#define _GNU_SOURCE
#include "spin_pool.h"

#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
static inline void cpu_relax(void) { _mm_pause(); }
#elif defined(__aarch64__)
static inline void cpu_relax(void) { __asm__ __volatile__("yield"); }
#else
static inline void cpu_relax(void) {}
#endif

#define MAX_WORKERS 255

typedef struct {
    _Alignas(64) _Atomic uint32_t ticket;
    _Atomic int sleeping;
    pthread_t thread;
    int index;  // runs slice index + 1
    struct ft_pool *pool;
} worker_t;

struct ft_pool {
    _Alignas(64) _Atomic int busy;  // a caller holds the pool
    int max_workers;
    _Atomic int started;            // workers running
    _Atomic long spin_ns;
    _Atomic long parks;
    _Atomic long preemptions;
    _Atomic long calm_after;  // CLOCK_MONOTONIC ns before which nobody spins
    _Atomic long calm_ns;     // the last quiet period's length
    _Atomic int parked;
    // The current job.
    ft_slice_fn fn;
    void *context;
    _Alignas(64) _Atomic uint32_t pending;  // worker slices not finished
    _Atomic int caller_sleeping;
    worker_t *workers;  // max_workers of them
};

static void futex_wait(_Atomic uint32_t *word, uint32_t expected) {
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *word, int count) {
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, count, NULL, NULL, 0);
}

static long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)t.tv_sec * 1000000000L + t.tv_nsec;
}

/// A gap this long between two clock reads of a spin loop (a few µs apart when it runs) means the
/// spinning thread was preempted: the cores are oversubscribed.
#define PREEMPTED_NS 50000L
/// After a preemption nobody spins for a while: 2 ms, doubled at each preemption that follows
/// within a second of the last quiet period's end, up to 1 s. Spinning on oversubscribed cores is
/// far worse than parking: a spinning thread spends its share of the core, the scheduler then runs
/// others for milliseconds while its partner waits, whereas a thread woken from a futex runs at
/// once (measured here with a load of 23 on 2 cores: 970 against 150 µs per 2-slice job of 27 µs).
/// A lone preemption (another process's short burst) costs only 2 ms without spinning.
#define CALM_MIN_NS 2000000L
#define CALM_MAX_NS 1000000000L

/// Records a preemption seen at `now`: no spinning for the next quiet period.
static void preempted(ft_pool *pool, long now) {
    long calm = atomic_load_explicit(&pool->calm_ns, memory_order_relaxed);
    long until = atomic_load_explicit(&pool->calm_after, memory_order_relaxed);
    calm = (now - until > CALM_MAX_NS || calm < CALM_MIN_NS) ? CALM_MIN_NS : (calm * 2 > CALM_MAX_NS ? CALM_MAX_NS : calm * 2);
    atomic_store_explicit(&pool->calm_ns, calm, memory_order_relaxed);
    atomic_store_explicit(&pool->calm_after, now + calm, memory_order_relaxed);
    atomic_fetch_add_explicit(&pool->preemptions, 1, memory_order_relaxed);
}

/// The spin window now: the configured one, or 0 while the cores have lately been oversubscribed.
static long spin_window(ft_pool *pool, long now) {
    long spin = atomic_load_explicit(&pool->spin_ns, memory_order_relaxed);
    if (spin <= 0 || now < atomic_load_explicit(&pool->calm_after, memory_order_relaxed)) return 0;
    return spin;
}

/// Spins while `done(word, value)` is false, up to the spin window; returns `done`'s last answer.
/// A preemption seen while spinning ends the spin and stops spinning for a while (`preempted`).
#define SPIN_WHILE_NOT(pool, done)                                                        \
    do {                                                                                  \
        long start_ = now_ns(), spin_ = spin_window(pool, start_), last_ = start_;       \
        while (spin_ > 0 && !(done)) {                                                    \
            for (int i_ = 0; i_ < 64 && !(done); i_++) cpu_relax();                        \
            long t_ = now_ns();                                                           \
            if (t_ - last_ > PREEMPTED_NS) {                                              \
                preempted(pool, t_);                                                      \
                break;                                                                    \
            }                                                                             \
            if (t_ - start_ >= spin_) break;                                              \
            last_ = t_;                                                                   \
        }                                                                                 \
    } while (0)

static void *worker_main(void *argument) {
    worker_t *self = argument;
    ft_pool *pool = self->pool;
    // 0, not the ticket's value now: the caller that started this thread may already have
    // handed it its first slice.
    uint32_t seen = 0;
    for (;;) {
        SPIN_WHILE_NOT(pool, atomic_load_explicit(&self->ticket, memory_order_acquire) != seen);
        if (atomic_load_explicit(&self->ticket, memory_order_acquire) == seen) {
            atomic_fetch_add_explicit(&pool->parks, 1, memory_order_relaxed);
            atomic_fetch_add_explicit(&pool->parked, 1, memory_order_relaxed);
            atomic_store(&self->sleeping, 1);
            while (atomic_load(&self->ticket) == seen) futex_wait(&self->ticket, seen);
            atomic_store(&self->sleeping, 0);
            atomic_fetch_sub_explicit(&pool->parked, 1, memory_order_relaxed);
        }
        seen = atomic_load_explicit(&self->ticket, memory_order_acquire);
        pool->fn(pool->context, self->index + 1);
        if (atomic_fetch_sub(&pool->pending, 1) == 1 && atomic_load(&pool->caller_sleeping)) {
            futex_wake(&pool->pending, 1);
        }
    }
    return NULL;
}

ft_pool *ft_pool_create(int max_workers) {
    if (max_workers < 0) max_workers = 0;
    if (max_workers > MAX_WORKERS) max_workers = MAX_WORKERS;
    ft_pool *pool = aligned_alloc(64, (sizeof(ft_pool) + 63) / 64 * 64);
    if (!pool) return NULL;
    atomic_init(&pool->busy, 0);
    pool->max_workers = max_workers;
    atomic_init(&pool->started, 0);
    atomic_init(&pool->spin_ns, 0);
    atomic_init(&pool->parks, 0);
    atomic_init(&pool->preemptions, 0);
    atomic_init(&pool->calm_after, 0);
    atomic_init(&pool->calm_ns, 0);
    atomic_init(&pool->parked, 0);
    pool->fn = NULL;
    pool->context = NULL;
    atomic_init(&pool->pending, 0);
    atomic_init(&pool->caller_sleeping, 0);
    size_t bytes = ((size_t)(max_workers > 0 ? max_workers : 1) * sizeof(worker_t) + 63) / 64 * 64;
    pool->workers = aligned_alloc(64, bytes);
    if (!pool->workers) {
        free(pool);
        return NULL;
    }
    return pool;
}

/// Starts workers until there are `count` (the caller holds `busy`). 0 when a thread failed to start.
static int ensure_workers(ft_pool *pool, int count) {
    int started = atomic_load_explicit(&pool->started, memory_order_relaxed);
    while (started < count) {
        worker_t *w = &pool->workers[started];
        atomic_init(&w->ticket, 0);
        atomic_init(&w->sleeping, 0);
        w->index = started;
        w->pool = pool;
        pthread_attr_t attributes;
        pthread_attr_init(&attributes);
        // The slices' stack temporaries (per-slice partial sums, scratch rows) as on the main thread.
        pthread_attr_setstacksize(&attributes, 8u << 20);
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        int status = pthread_create(&w->thread, &attributes, worker_main, w);
        pthread_attr_destroy(&attributes);
        if (status != 0) return 0;
        started += 1;
        atomic_store_explicit(&pool->started, started, memory_order_relaxed);
    }
    return 1;
}

int ft_pool_run(ft_pool *pool, int slices, ft_slice_fn fn, void *context) {
    if (slices < 1) return 1;
    if (slices - 1 > pool->max_workers) return 0;
    int expected = 0;
    if (!atomic_compare_exchange_strong(&pool->busy, &expected, 1)) return 0;
    if (!ensure_workers(pool, slices - 1)) {
        atomic_store_explicit(&pool->busy, 0, memory_order_release);
        return 0;
    }
    pool->fn = fn;
    pool->context = context;
    atomic_store(&pool->pending, (uint32_t)(slices - 1));
    for (int i = 0; i < slices - 1; i++) {
        worker_t *w = &pool->workers[i];
        atomic_fetch_add(&w->ticket, 1);
        if (atomic_load(&w->sleeping)) futex_wake(&w->ticket, 1);
    }
    fn(context, 0);
    // Then the workers' slices: spinning first (they started with the caller's, so they are
    // usually about to finish), then parked until the last one wakes the caller.
    if (atomic_load_explicit(&pool->pending, memory_order_acquire) != 0) {
        SPIN_WHILE_NOT(pool, atomic_load_explicit(&pool->pending, memory_order_acquire) == 0);
        uint32_t left = atomic_load(&pool->pending);
        if (left != 0) {
            atomic_store(&pool->caller_sleeping, 1);
            while ((left = atomic_load(&pool->pending)) != 0) futex_wait(&pool->pending, left);
            atomic_store(&pool->caller_sleeping, 0);
        }
    }
    atomic_store_explicit(&pool->busy, 0, memory_order_release);
    return 1;
}

void ft_pool_set_spin_ns(ft_pool *pool, long spin_ns) {
    atomic_store_explicit(&pool->spin_ns, spin_ns < 0 ? 0 : spin_ns, memory_order_relaxed);
}

int ft_pool_worker_count(const ft_pool *pool) { return atomic_load_explicit(&pool->started, memory_order_relaxed); }

long ft_pool_parks(const ft_pool *pool) { return atomic_load_explicit(&pool->parks, memory_order_relaxed); }

long ft_pool_preemptions(const ft_pool *pool) { return atomic_load_explicit(&pool->preemptions, memory_order_relaxed); }

int ft_pool_is_hot(ft_pool *pool) {
    if (atomic_load_explicit(&pool->spin_ns, memory_order_relaxed) <= 0) return 0;
    if (atomic_load_explicit(&pool->started, memory_order_relaxed) == 0) return 0;
    if (atomic_load_explicit(&pool->parked, memory_order_relaxed) != 0) return 0;
    return now_ns() >= atomic_load_explicit(&pool->calm_after, memory_order_relaxed);
}

int ft_pool_parked_workers(const ft_pool *pool) { return atomic_load_explicit(&pool->parked, memory_order_relaxed); }
