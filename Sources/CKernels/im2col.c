// im2col and its adjoint col2im for square-kernel convolutions, so that a convolution is one
// sgemm. The column matrix has one row per (input channel, ky, kx) and one column per output
// pixel (rows of out_width):
//
//     cols[(c·k + ky)·k + kx][oy·out_width + ox] = image[c][oy·s − p + ky][ox·s − p + kx]
//
// (zero outside the image), for a band of output rows [first_row, first_row + rows) at a time
// (a band's columns stay in cache for the sgemm that reads or writes them). col2im adds every column entry back onto the pixel it was read
// from, so it is exactly the adjoint of im2col: the input gradient of a convolution is
// col2im(Wᵀ·δ). Compiled for AVX-512, AVX2 and the baseline; chosen at run time.
#include "CKernels.h"
#include "multiversion.h"

#include <string.h>

/// Output columns [lo, hi) whose input column ox·s − p + kx lies inside the image.
static inline LPN_BODY void inside_columns(const lpn_conv_shape *g, ptrdiff_t kx,
                                                                 ptrdiff_t *lo, ptrdiff_t *hi) {
    ptrdiff_t s = g->stride, p = g->padding, out = g->out_width;
    ptrdiff_t l = (p - kx + s - 1) / s;
    if (p - kx <= 0) l = 0;
    if (l > out) l = out;
    ptrdiff_t h = (g->width - 1 + p - kx) / s + 1;
    if (g->width - 1 + p - kx < 0) h = 0;
    if (h > out) h = out;
    if (h < l) h = l;
    *lo = l;
    *hi = h;
}

static inline LPN_BODY void im2col_body(const float *restrict image, const lpn_conv_shape *g,
                                                              ptrdiff_t first_row, ptrdiff_t rows,
                                                              float *restrict cols) {
    const ptrdiff_t k = g->kernel, s = g->stride, p = g->padding, height = g->height, width = g->width;
    const ptrdiff_t out_w = g->out_width, pixels = rows * out_w;
    for (ptrdiff_t c = 0; c < g->channels; c++) {
        const float *plane = image + c * height * width;
        for (ptrdiff_t ky = 0; ky < k; ky++) {
            for (ptrdiff_t kx = 0; kx < k; kx++) {
                float *row = cols + ((c * k + ky) * k + kx) * pixels;
                ptrdiff_t lo, hi;
                inside_columns(g, kx, &lo, &hi);
                for (ptrdiff_t r = 0; r < rows; r++) {
                    const ptrdiff_t iy = (first_row + r) * s - p + ky;
                    float *dst = row + r * out_w;
                    if (iy < 0 || iy >= height) {
                        memset(dst, 0, (size_t)out_w * sizeof(float));
                        continue;
                    }
                    const float *src = plane + iy * width + (lo * s - p + kx);
                    if (lo > 0) memset(dst, 0, (size_t)lo * sizeof(float));
                    if (s == 1) {
                        memcpy(dst + lo, src, (size_t)(hi - lo) * sizeof(float));
                    } else if (s == 2) {
                        for (ptrdiff_t i = 0; i < hi - lo; i++) dst[lo + i] = src[2 * i];
                    } else {
                        for (ptrdiff_t i = 0; i < hi - lo; i++) dst[lo + i] = src[s * i];
                    }
                    if (hi < out_w) memset(dst + hi, 0, (size_t)(out_w - hi) * sizeof(float));
                }
            }
        }
    }
}

static inline LPN_BODY void col2im_body(const float *restrict cols, const lpn_conv_shape *g,
                                                              ptrdiff_t first_row, ptrdiff_t rows,
                                                              float *restrict image) {
    const ptrdiff_t k = g->kernel, s = g->stride, p = g->padding, height = g->height, width = g->width;
    const ptrdiff_t out_h = g->out_height, out_w = g->out_width, pixels = rows * out_w;
    if (k == 3 && s == 2 && p == 1 && height == 2 * out_h && width == 2 * out_w) {
        // The three kx rows of one (c, ky) land on the interleaved pixels 2ox − 1, 2ox, 2ox + 1:
        // even pixel 2ox collects middle[ox], odd pixel 2ox + 1 collects right[ox] + left[ox + 1]
        // (left[0] reads the padding column), so each pixel is written once, without a chain.
        for (ptrdiff_t c = 0; c < g->channels; c++) {
            float *plane = image + c * height * width;
            for (ptrdiff_t ky = 0; ky < 3; ky++) {
                const float *base = cols + (c * 3 + ky) * 3 * pixels;
                for (ptrdiff_t r = 0; r < rows; r++) {
                    const ptrdiff_t iy = 2 * (first_row + r) - 1 + ky;
                    if (iy < 0) continue;
                    const float *restrict left = base + r * out_w;
                    const float *restrict middle = left + pixels, *restrict right = middle + pixels;
                    float *restrict dst = plane + iy * width;
                    for (ptrdiff_t ox = 0; ox < out_w - 1; ox++) {
                        dst[2 * ox] += middle[ox];
                        dst[2 * ox + 1] += right[ox] + left[ox + 1];
                    }
                    dst[2 * out_w - 2] += middle[out_w - 1];
                    dst[2 * out_w - 1] += right[out_w - 1];
                }
            }
        }
        return;
    }
    for (ptrdiff_t c = 0; c < g->channels; c++) {
        float *plane = image + c * height * width;
        for (ptrdiff_t ky = 0; ky < k; ky++) {
            for (ptrdiff_t kx = 0; kx < k; kx++) {
                const float *row = cols + ((c * k + ky) * k + kx) * pixels;
                ptrdiff_t lo, hi;
                inside_columns(g, kx, &lo, &hi);
                for (ptrdiff_t r = 0; r < rows; r++) {
                    const ptrdiff_t iy = (first_row + r) * s - p + ky;
                    if (iy < 0 || iy >= height) continue;
                    const float *src = row + r * out_w + lo;
                    float *dst = plane + iy * width + (lo * s - p + kx);
                    if (s == 1) {
                        for (ptrdiff_t i = 0; i < hi - lo; i++) dst[i] += src[i];
                    } else {
                        for (ptrdiff_t i = 0; i < hi - lo; i++) dst[s * i] += src[i];
                    }
                }
            }
        }
    }
}

LPN_MULTIVERSION(im2col, (const float *image, const lpn_conv_shape *g, ptrdiff_t f, ptrdiff_t n, float *cols),
                 (image, g, f, n, cols))
LPN_MULTIVERSION(col2im, (const float *cols, const lpn_conv_shape *g, ptrdiff_t f, ptrdiff_t n, float *image),
                 (cols, g, f, n, image))

void lpn_im2col(const float *image, const lpn_conv_shape *shape, ptrdiff_t first_row, ptrdiff_t rows, float *cols) {
    LPN_DISPATCH(lpn_kernel_level(), im2col, (image, shape, first_row, rows, cols))
}

void lpn_col2im_add(const float *cols, const lpn_conv_shape *shape, ptrdiff_t first_row, ptrdiff_t rows, float *image) {
    LPN_DISPATCH(lpn_kernel_level(), col2im, (cols, shape, first_row, rows, image))
}
