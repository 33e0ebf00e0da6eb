// Denormal handling: subnormal floats (|x| < 2^-126) take a slow microcode path on x86. The
// softplus slope of very negative pre-activations underflows into that range, so the engine
// flushes them to zero while it runs (a change far below float32's precision at unit scale).
#include "CKernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
uint32_t lpn_flush_denormals(void) {
    uint32_t mode = _mm_getcsr();
    _mm_setcsr(mode | 0x8040u);  // FTZ (bit 15) and DAZ (bit 6)
    return mode;
}
uint32_t lpn_fp_mode(void) { return _mm_getcsr(); }
void lpn_restore_fp_mode(uint32_t mode) { _mm_setcsr(mode); }
#else
uint32_t lpn_fp_mode(void) { return 0; }
uint32_t lpn_flush_denormals(void) { return 0; }
void lpn_restore_fp_mode(uint32_t mode) { (void)mode; }
#endif
