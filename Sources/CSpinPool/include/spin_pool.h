#ifndef FTTRAIN_SPIN_POOL_H
#define FTTRAIN_SPIN_POOL_H
// fttrain's slice threads (FTKernels' `Parallel`): a pool of worker threads that, after finishing
// a slice, spin for a bounded window before parking on a futex, so the back-to-back dispatches of
// one short forward pass (several dozen per text) do not each pay a thread wake-up (tens of µs
// through a condition variable), and an idle process still uses no CPU once the window is over.
//
// C because Swift has neither the `pause` instruction for the spin loop nor futexes.
//
// One job runs at a time: `ft_pool_run` returns 0 without running anything when another thread
// is running a job on the pool (the caller then uses another way, e.g. libdispatch). Slice 0 runs
// on the calling thread, slice i ≥ 1 on worker i − 1; `ft_pool_run` returns once every slice has.

/// A slice of a job: `fn(context, slice)`.
typedef void (*ft_slice_fn)(void *context, int slice);

typedef struct ft_pool ft_pool;

/// A pool with no threads yet (they are started on first need, up to `max_workers`).
ft_pool *ft_pool_create(int max_workers);

/// Runs `fn(context, s)` for s in 0 ..< slices (slices − 1 ≤ the pool's max_workers), slice 0 on
/// the caller. Returns 1 when done, 0 when the pool was busy with another caller's job (nothing
/// ran) or a worker thread could not be started.
int ft_pool_run(ft_pool *pool, int slices, ft_slice_fn fn, void *context);

/// How long (ns) a worker spins for its next slice, and the caller for its workers, before
/// parking; 0 parks at once. Applies from the next wait on.
void ft_pool_set_spin_ns(ft_pool *pool, long spin_ns);

/// The workers started so far.
int ft_pool_worker_count(const ft_pool *pool);

/// How many times workers have parked (gone to sleep on the futex) since the pool was made.
long ft_pool_parks(const ft_pool *pool);

/// How many times a spinning thread found it had been preempted (each stops spinning for 2 ms
/// to 1 s, longer when preemptions follow each other).
long ft_pool_preemptions(const ft_pool *pool);

/// 1 when a dispatch now would find its workers spinning (started, none parked, spinning not
/// suspended after a preemption): a slice handed over costs well under a µs rather than a wake-up.
int ft_pool_is_hot(ft_pool *pool);

/// How many workers are parked right now.
int ft_pool_parked_workers(const ft_pool *pool);

#endif
