// One kernel body, three compilations: AVX-512, AVX2+FMA and the baseline the toolchain
// targets, and a dispatch on the level lpn_kernel_level() chose (cpu.c).
//
//     static inline LPN_BODY void name_body(params) { ... }
//     LPN_MULTIVERSION(name, (params), (args))       defines name_avx512, name_avx2, name_baseline
//     LPN_DISPATCH(level, name, (args))              calls the one for the level
#ifndef LPND_CKERNELS_MULTIVERSION_H
#define LPND_CKERNELS_MULTIVERSION_H

#define LPN_BODY __attribute__((always_inline))
#define LPN_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")))
#define LPN_AVX2 __attribute__((target("avx2,fma")))

#define LPN_MULTIVERSION(name, params, args)                     \
    LPN_AVX512 static void name##_avx512 params { name##_body args; } \
    LPN_AVX2 static void name##_avx2 params { name##_body args; }     \
    static void name##_baseline params { name##_body args; }

#define LPN_DISPATCH(level, name, args)          \
    switch (level) {                             \
    case 2: name##_avx512 args; break;           \
    case 1: name##_avx2 args; break;             \
    default: name##_baseline args; break;        \
    }

#endif
