// CPU feature detection and the kernel level chosen once per process.
#include "CKernels.h"

#include <stdatomic.h>

int lpn_cpu_has_avx2_fma(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

int lpn_cpu_has_avx512(void) {
    __builtin_cpu_init();
    return lpn_cpu_has_avx2_fma() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
}

static _Atomic int chosen_level = -1;

int lpn_kernel_level(void) {
    int level = atomic_load_explicit(&chosen_level, memory_order_relaxed);
    if (level < 0) {
        level = lpn_cpu_has_avx512() ? 2 : lpn_cpu_has_avx2_fma() ? 1 : 0;
        atomic_store_explicit(&chosen_level, level, memory_order_relaxed);
    }
    return level;
}

const char *lpn_kernel_level_name(void) {
    switch (lpn_kernel_level()) {
    case 2: return "avx512";
    case 1: return "avx2";
    default: return "sse2";
    }
}
