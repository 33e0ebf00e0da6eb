// Element-wise and small-convolution kernels of the LPN engine, compiled for several
// instruction sets and chosen at run time from the CPU's features (AVX-512, AVX2+FMA, or the
// portable baseline the Swift toolchain targets). Every variant computes the same formulas;
// they differ only by rounding of fused multiply-adds.
#ifndef LPND_CKERNELS_H
#define LPND_CKERNELS_H

#include <stddef.h>
#include <stdint.h>

/// The instruction set the kernels run with: 0 baseline (SSE2), 1 AVX2+FMA, 2 AVX-512.
int lpn_kernel_level(void);
/// Its name: "sse2", "avx2" or "avx512".
const char *lpn_kernel_level_name(void);
/// Whether the CPU (and the OS) support AVX2 with FMA, and AVX-512 F/BW/DQ/VL.
int lpn_cpu_has_avx2_fma(void);
int lpn_cpu_has_avx512(void);

/// values[c·pixels + i] ← σ(values + bias[c]) and slopes ← σ'(values + bias[c]), softplus of
/// sharpness beta with PyTorch's threshold 20 (σ(t) = t where beta·t > 20). bias may be NULL.
void lpn_bias_softplus(float *values, float *slopes, const float *bias,
                       ptrdiff_t channels, ptrdiff_t pixels, float beta);
/// The same at a given level (capped at the CPU's), so tests can compare every variant.
void lpn_bias_softplus_at(int level, float *values, float *slopes, const float *bias,
                          ptrdiff_t channels, ptrdiff_t pixels, float beta);

/// values[i] ← values[i] · factors[i].
void lpn_multiply(float *values, const float *factors, ptrdiff_t count);

/// A square-kernel convolution's input and output sizes (im2col.c).
typedef struct {
    ptrdiff_t channels, height, width;  // input
    ptrdiff_t kernel, stride, padding;
    ptrdiff_t out_height, out_width;
} lpn_conv_shape;

/// cols[(c·k + ky)·k + kx][r·out_width + ox] = image[c][oy·s − p + ky][ox·s − p + kx] for the
/// output rows oy = first_row + r, r < rows; zero outside the image.
void lpn_im2col(const float *image, const lpn_conv_shape *shape, ptrdiff_t first_row, ptrdiff_t rows, float *cols);
/// image += col2im(cols) for the same band: the exact adjoint of lpn_im2col.
void lpn_col2im_add(const float *cols, const lpn_conv_shape *shape, ptrdiff_t first_row, ptrdiff_t rows, float *image);

/// Direct convolutions and their adjoints, without im2col (directconv.c). Supported shapes:
/// stride 1 with any k×k kernel (k² ≤ 256) and padding p < k; stride 2 with kernel 3, padding 1
/// (even sides, halved).
int lpn_conv_direct_supports(const lpn_conv_shape *shape);
/// Floats of the padded copy of the source (the input; for the adjoint, δ with out_channels
/// planes) that lpn_direct_prepare writes and lpn_direct_rows reads, shared by all threads.
ptrdiff_t lpn_direct_copy_size(int adjoint, const lpn_conv_shape *shape, ptrdiff_t out_channels);
/// Floats of per-thread scratch lpn_direct_rows needs.
ptrdiff_t lpn_direct_scratch_size(int adjoint, const lpn_conv_shape *shape, ptrdiff_t out_channels);
/// Writes source channels [first_channel, first_channel + channels) into the padded copy: the
/// copy rows that lpn_direct_rows reads for result rows [first_row, first_row + rows) (output
/// rows forward, input rows for the adjoint), no others.
void lpn_direct_prepare(int adjoint, const lpn_conv_shape *shape, ptrdiff_t out_channels, const float *source,
                        ptrdiff_t first_channel, ptrdiff_t channels, ptrdiff_t first_row, ptrdiff_t rows,
                        float *copy);
/// Packs weight [out_channels][channels][k][k] for lpn_direct_rows (k²·channels·out_channels floats).
void lpn_direct_pack(int adjoint, const lpn_conv_shape *shape, ptrdiff_t out_channels, const float *weight,
                     float *packed);
/// Every source channel must have been prepared (lpn_direct_prepare) into `copy`; `scratch`
/// (lpn_direct_scratch_size floats) belongs to the calling thread.
/// Forward: output[o][oy][ox] (+)= the convolution for output rows oy in [first_row, first_row + rows)
/// and columns ox in [first_column, first_column + columns).
/// Adjoint: output[c][iy][ix] (+)= its adjoint applied to δ, for input rows iy and columns ix in
/// those ranges (bands of input rows write disjoint pixels). Without accumulate the rectangle is
/// overwritten; nothing outside it is written.
void lpn_direct_rows(int adjoint, const lpn_conv_shape *shape, ptrdiff_t out_channels, const float *copy,
                     const float *packed, ptrdiff_t first_row, ptrdiff_t rows, ptrdiff_t first_column,
                     ptrdiff_t columns, float *scratch, float *output, int accumulate);
/// The same at a given level (capped at the CPU's), so tests can compare every variant.
void lpn_direct_rows_at(int level, int adjoint, const lpn_conv_shape *shape, ptrdiff_t out_channels,
                        const float *copy, const float *packed, ptrdiff_t first_row, ptrdiff_t rows,
                        ptrdiff_t first_column, ptrdiff_t columns, float *scratch, float *output, int accumulate);

/// Sets flush-to-zero and denormals-are-zero on the calling thread; returns the previous
/// control word for lpn_restore_fp_mode.
uint32_t lpn_flush_denormals(void);
/// The calling thread's floating-point control word, and setting it (x86 MXCSR; 0 and a
/// no-op elsewhere).
uint32_t lpn_fp_mode(void);
void lpn_restore_fp_mode(uint32_t mode);

/// A pool of threads for parallel sections (workpool.c): `threads` − 1 workers that spin
/// briefly between sections and sleep when idle, plus the calling thread.
typedef struct lpn_pool lpn_pool;
/// Runs part `part` of a section on thread `worker` (0 the caller, 1… the pool's workers).
typedef void (*lpn_pool_task)(void *context, long part, int worker);
/// A pool of `threads` threads in all (the caller counts; fewer if some could not start).
lpn_pool *lpn_pool_create(int threads);
/// The threads it runs sections on, the caller included.
int lpn_pool_threads(const lpn_pool *pool);
/// Runs task(context, part, worker) for every part in [0, parts) and returns when all have
/// finished; each part runs once, on whichever thread claims it, with the caller's
/// floating-point mode. One section at a time per pool: calls must not overlap, and a part
/// must not call run on its own pool. parts < 2³² − 1 (more aborts).
void lpn_pool_run(lpn_pool *pool, long parts, lpn_pool_task task, void *context);
/// Stops and joins the workers, and frees the pool.
void lpn_pool_destroy(lpn_pool *pool);

#endif
