// A pool of threads that run the parts of one parallel section at a time (declared in
// CKernels.h). One evaluation of the network is a few hundred short sections (a convolution's
// bands, an element-wise pass), each a fraction of a millisecond on a 128×128 frame: waking a
// sleeping thread for each, as a general-purpose thread pool does, costs about as much as the
// section saves. Here the workers spin for a short while after each section, so the next one
// finds them awake, and sleep on a condition variable only after a quiet spell (between frames).
//
// One 64-bit word carries the section's generation (high 32 bits) and the next unclaimed part
// (low 32 bits). The caller closes a new generation (part index `closed`), writes the
// section's task, then opens it (index 0); a thread claims a part by compare-and-swap on the
// word. A thread that arrives late from an earlier section can never claim a part of a later
// one (its expected generation no longer matches), and the task a thread reads after seeing a
// generation open stays that generation's until every part is claimed. Parts are claimed one
// at a time by whoever is free, so a thread that the system preempts delays only the part it
// holds.
#include "CKernels.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
static inline void relax(void) { _mm_pause(); }
#else
static inline void relax(void) {}
#endif

/// How long an idle worker spins before it sleeps, and how long the caller spins on a part
/// another thread holds before it starts yielding its core.
static const long spin_nanoseconds = 200000;

/// The part index of a generation whose section is still being written.
static const uint64_t closed = 0xffffffffu;

/// Whether `word` holds an open generation other than `seen`.
static inline int opened(uint64_t word, uint32_t seen) {
    return (uint32_t)(word >> 32) != seen && (word & 0xffffffffu) != closed;
}

struct lpn_pool {
    int workers;
    pthread_t *threads;
    pthread_mutex_t mutex;
    pthread_cond_t wake;
    _Atomic uint64_t claim;         // generation << 32 | next part
    _Atomic long finished;          // parts of the current section done
    _Atomic long parts;             // the current section's
    _Atomic(lpn_pool_task) task;
    _Atomic(void *) context;
    _Atomic uint32_t fp_mode;
    _Atomic int sleepers;
    _Atomic int stopping;
};

typedef struct {
    lpn_pool *pool;
    int index;
} worker_start;

static long now_nanoseconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)t.tv_sec * 1000000000L + t.tv_nsec;
}

/// Claims and runs parts of generation `generation` (seen open) until none is left.
static void run_parts(lpn_pool *pool, uint32_t generation, int worker) {
    long parts = atomic_load(&pool->parts);
    lpn_pool_task task = atomic_load(&pool->task);
    void *context = atomic_load(&pool->context);
    uint64_t word = atomic_load(&pool->claim);
    for (;;) {
        if ((uint32_t)(word >> 32) != generation || (long)(word & 0xffffffffu) >= parts) return;
        if (!atomic_compare_exchange_weak(&pool->claim, &word, word + 1)) continue;
        task(context, (long)(word & 0xffffffffu), worker);
        atomic_fetch_add(&pool->finished, 1);
        word = atomic_load(&pool->claim);
    }
}

static void *worker_main(void *argument) {
    worker_start start = *(worker_start *)argument;
    free(argument);
    lpn_pool *pool = start.pool;
    uint32_t seen = (uint32_t)(atomic_load(&pool->claim) >> 32);
    for (;;) {
        long spun_since = now_nanoseconds();
        unsigned spins = 0;
        uint64_t word;
        while (!opened(word = atomic_load(&pool->claim), seen) && !atomic_load(&pool->stopping)) {
            relax();
            if ((++spins & 63) != 0 || now_nanoseconds() - spun_since < spin_nanoseconds) continue;
            pthread_mutex_lock(&pool->mutex);
            atomic_fetch_add(&pool->sleepers, 1);
            while (!opened(atomic_load(&pool->claim), seen) && !atomic_load(&pool->stopping))
                pthread_cond_wait(&pool->wake, &pool->mutex);
            atomic_fetch_sub(&pool->sleepers, 1);
            pthread_mutex_unlock(&pool->mutex);
            spun_since = now_nanoseconds();
        }
        if (atomic_load(&pool->stopping)) return NULL;
        uint32_t generation = (uint32_t)(word >> 32);
        seen = generation;
        uint32_t own = lpn_fp_mode();
        lpn_restore_fp_mode(atomic_load(&pool->fp_mode));
        run_parts(pool, generation, start.index);
        lpn_restore_fp_mode(own);
    }
}

lpn_pool *lpn_pool_create(int threads) {
    lpn_pool *pool = calloc(1, sizeof(lpn_pool));
    if (!pool) return NULL;
    int wanted = threads > 1 ? threads - 1 : 0;
    pthread_mutex_init(&pool->mutex, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pool->threads = calloc((size_t)(wanted > 0 ? wanted : 1), sizeof(pthread_t));
    if (!pool->threads) wanted = 0;  // no workers: every section runs on the caller
    int started = 0;
    for (int i = 0; i < wanted; i++) {
        worker_start *start = malloc(sizeof(worker_start));
        if (!start) break;
        start->pool = pool;
        start->index = i + 1;
        if (pthread_create(&pool->threads[i], NULL, worker_main, start) != 0) {
            free(start);
            break;
        }
        started++;
    }
    pool->workers = started;
    return pool;
}

int lpn_pool_threads(const lpn_pool *pool) { return pool->workers + 1; }

void lpn_pool_run(lpn_pool *pool, long parts, lpn_pool_task task, void *context) {
    if (parts <= 0) return;
    // The part index shares a word with the generation: it must stay below `closed`.
    if (parts >= (long)closed) abort();
    if (pool->workers == 0 || parts == 1) {
        for (long part = 0; part < parts; part++) task(context, part, 0);
        return;
    }
    // Close the new generation, write the section, open it (sequentially consistent: the
    // opening is ordered against the sleepers count a worker raises before it sleeps).
    uint32_t generation = (uint32_t)(atomic_load(&pool->claim) >> 32) + 1;
    atomic_store(&pool->claim, (uint64_t)generation << 32 | closed);
    atomic_store(&pool->finished, 0);
    atomic_store(&pool->parts, parts);
    atomic_store(&pool->task, task);
    atomic_store(&pool->context, context);
    atomic_store(&pool->fp_mode, lpn_fp_mode());
    atomic_store(&pool->claim, (uint64_t)generation << 32);
    if (atomic_load(&pool->sleepers) > 0) {
        pthread_mutex_lock(&pool->mutex);
        pthread_cond_broadcast(&pool->wake);
        pthread_mutex_unlock(&pool->mutex);
    }
    run_parts(pool, generation, 0);
    // Every part is claimed; wait for those other threads still hold. Yield the core after a
    // while: the holder may be waiting for it.
    long waited_since = 0;
    unsigned spins = 0;
    while (atomic_load(&pool->finished) < parts) {
        relax();
        if ((++spins & 63) != 0) continue;
        long now = now_nanoseconds();
        if (waited_since == 0) waited_since = now;
        else if (now - waited_since > spin_nanoseconds) sched_yield();
    }
}

void lpn_pool_destroy(lpn_pool *pool) {
    if (!pool) return;
    pthread_mutex_lock(&pool->mutex);
    atomic_store(&pool->stopping, 1);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mutex);
    for (int i = 0; i < pool->workers; i++) pthread_join(pool->threads[i], NULL);
    pthread_cond_destroy(&pool->wake);
    pthread_mutex_destroy(&pool->mutex);
    free(pool->threads);
    free(pool);
}
