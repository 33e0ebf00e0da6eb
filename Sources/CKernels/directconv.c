// Direct convolutions and their adjoints, without im2col: 3×3 with padding 1 at stride 1 or 2,
// and any k×k kernel with padding p < k at stride 1 (the network's last layer, k = N/8, p = 0).
//
// Forward, for the output rows oy of a band and every output channel o:
//
//     out[o][oy][ox] (+)= Σ_c Σ_(ky,kx) w[o][c][ky][kx] · in[c][s·oy − p + ky][s·ox − p + kx]
//
// Adjoint (the input gradient of the same convolution), for the *input* rows iy of a band, so
// that bands never write the same pixel:
//
//     g[c][iy][ix] (+)= Σ_o Σ_(ky,kx : s·oy − p + ky = iy, s·ox − p + kx = ix) w[o][c][ky][kx] · δ[o][oy][ox]
//
// Both are computed for a rectangle of rows and columns (of the output forward, of the input for
// the adjoint), so that a caller can recompute only the part of a map that changed.
// ("(+)=": added onto the output, or written over it.) Both are one computation: a sum over
// source channels and taps of a weight times a shifted source row. The source (the input, or
// δ for the adjoint) is first copied once into zero-padded rows, the channels of one row side
// by side, each row rounded up to a whole number of the widest vector (lpn_direct_prepare), so
// that every tap of every output pixel is a contiguous, in-bounds read:
//
//   - forward, stride 1: rows padded by p; tap (ky, kx) reads row oy + ky, column ox + kx;
//   - forward, stride 2: each padded row split into its even and odd columns, so tap (ky, kx)
//     reads row 2·oy + ky at column ox of the even (kx = 0), odd (kx = 1) or even shifted by one
//     (kx = 2) half;
//   - adjoint, stride 1: δ rows padded by k − 1 − p, with the kernel flipped: tap (ky, kx) reads
//     padded row iy + k − 1 − ky, column ix + k − 1 − kx;
//   - adjoint, stride 2: input pixel (2m + py, 2j + px) collects, by parity, 1, 2, 2 or 4 taps
//     of δ rows m, m + 1 and columns j, j + 1 (δ copied with one trailing zero row and
//     column): even (py = 0) takes ky = 1 of row m, odd takes ky = 2 of row m and ky = 0 of
//     row m + 1; likewise columns. The two column parities are computed as two half-width rows
//     and interleaved into g.
//
// The inner kernel (a tile) keeps a block of output channels × a run of pixels in vector
// registers over all source channels and taps: per tap a few pixel vectors are loaded and each
// is multiplied by a broadcast weight per output channel, so the tile is bound by its
// multiply-adds, not by memory. Weights are packed once (lpn_direct_pack) so the block's
// weights for one (source channel, tap) are adjacent. Every output value is summed in one
// fixed order (source channel, then tap) whatever the band or tile, so results do not depend
// on the number of threads. Tiles are compiled for AVX-512 (16 lanes, 8 channels × 2 vectors
// of one row, or × 1 vector of three rows, where three rows remain: each broadcast weight then
// feeds three multiply-adds, 6 % faster at hidden 256), AVX2 (8 lanes, 4 × 2) and the
// baseline (4 lanes, 4 × 2); chosen at run time.
#include "CKernels.h"
#include "multiversion.h"

#include <string.h>

/// Copied rows are rounded up to a multiple of this many pixels, the widest vector: a tile's last
/// vector then ends inside the row whatever the level (4, 8 and 16 lanes all divide it), and
/// its lanes past the image read zeros.
#define LPN_DIRECT_ROUNDING 16
/// Floats of the tail tile every thread's scratch starts with: the largest block × 3 rows × lanes.
#define LPN_DIRECT_TEMP (8 * 3 * 16)

/// The stride-2 adjoint's parity classes k = 2·py + px (py, px: the input row's and column's
/// parity): how many taps each collects, and which (t = ky·3 + kx) in which order. Their offsets
/// in the δ copy are in lpn_direct_rows_at, in the same order.
_Static_assert(LPN_DIRECT_ROUNDING % 16 == 0, "rows must hold whole vectors of every level");
_Static_assert(LPN_DIRECT_TEMP >= 8 * 3 * 16, "the tail tile holds the largest block × 3 rows × lanes");
static const int parity_counts[4] = {1, 2, 2, 4};
static const int parity_taps[4][4] = {{4}, {5, 3}, {7, 1}, {8, 6, 2, 0}};

static ptrdiff_t round_up(ptrdiff_t n, ptrdiff_t m) { return (n + m - 1) / m * m; }

/// Taps of the largest stride-1 kernel the direct kernels run (16×16: the last layer of a
/// 128×128 model).
#define LPN_DIRECT_MAX_TAPS 256

/// The padded copy of the source, row by row and within a row channel by channel (so the rows
/// one output row reads lie together, not one plane apart): rows × pitch floats, pitch =
/// sources × row_length.
typedef struct {
    ptrdiff_t rows, row_length, pitch;
    ptrdiff_t even_length;  // forward stride 2: floats of the even half at the start of each row
} copy_layout;

/// Zero rows (and columns) before the source in a stride-1 copy: the padding p forward, k − 1 − p
/// for the adjoint (the flipped kernel over δ).
static ptrdiff_t stride1_lead(int adjoint, const lpn_conv_shape *g) {
    return adjoint ? g->kernel - 1 - g->padding : g->padding;
}

static copy_layout layout(int adjoint, const lpn_conv_shape *g, ptrdiff_t out_channels) {
    copy_layout l = {0, 0, 0, 0};
    const ptrdiff_t ow = round_up(g->out_width, LPN_DIRECT_ROUNDING);
    if (g->stride == 1) {
        // the rows and columns a whole vector of any result pixel reads: result + kernel − 1
        const ptrdiff_t k = g->kernel;
        l.rows = (adjoint ? g->height : g->out_height) + k - 1;
        l.row_length = round_up(adjoint ? g->width : g->out_width, LPN_DIRECT_ROUNDING) + k - 1;
    } else if (!adjoint) { l.rows = g->height + 2; l.even_length = ow + 1; l.row_length = 2 * ow + 1; }
    else { l.rows = g->out_height + 1; l.row_length = ow + 1; }
    l.pitch = (adjoint ? out_channels : g->channels) * l.row_length;
    return l;
}

int lpn_conv_direct_supports(const lpn_conv_shape *g) {
    const ptrdiff_t k = g->kernel, p = g->padding;
    if (g->stride == 1)
        return k >= 1 && k * k <= LPN_DIRECT_MAX_TAPS && p >= 0 && p < k && g->out_height == g->height + 2 * p - k + 1
            && g->out_width == g->width + 2 * p - k + 1 && g->out_height >= 1 && g->out_width >= 1;
    if (g->stride == 2)
        return k == 3 && p == 1 && g->height == 2 * g->out_height && g->width == 2 * g->out_width;
    return 0;
}

ptrdiff_t lpn_direct_copy_size(int adjoint, const lpn_conv_shape *g, ptrdiff_t out_channels) {
    const copy_layout l = layout(adjoint, g, out_channels);
    // A run that starts at an odd column ends with a vector that reaches up to a vector past its
    // row: into the next row's floats, or past the last row into this slack (lanes read, discarded).
    return l.rows * l.pitch + 2 * LPN_DIRECT_ROUNDING;
}

ptrdiff_t lpn_direct_scratch_size(int adjoint, const lpn_conv_shape *g, ptrdiff_t out_channels) {
    (void)out_channels;
    // the tail tile, and for the stride-2 adjoint two half-width rows per channel
    return LPN_DIRECT_TEMP + (adjoint && g->stride == 2 ? 2 * g->channels * round_up(g->out_width, LPN_DIRECT_ROUNDING) : 0);
}

/// The copy rows [*low, *high) that the result rows [first_row, first_row + rows) read (output rows
/// forward, input rows for the adjoint).
static void copy_rows_read(int adjoint, const lpn_conv_shape *g, const copy_layout *l, ptrdiff_t first_row,
                           ptrdiff_t rows, ptrdiff_t *low, ptrdiff_t *high) {
    const ptrdiff_t last = first_row + rows - 1;
    if (!adjoint) { *low = g->stride * first_row; *high = g->stride * last + g->kernel; }
    else if (g->stride == 1) { *low = first_row; *high = last + g->kernel; }
    else { *low = first_row / 2; *high = last / 2 + 2; }
    if (*high > l->rows) *high = l->rows;
}

static inline LPN_BODY void prepare_body(int adjoint, const lpn_conv_shape *g, ptrdiff_t out_channels,
                                         const float *restrict source, ptrdiff_t first_channel, ptrdiff_t channels,
                                         ptrdiff_t first_row, ptrdiff_t rows, float *restrict copy) {
    const copy_layout l = layout(adjoint, g, out_channels);
    const ptrdiff_t L = l.row_length, h = g->height, w = g->width;
    // source rows land at copy rows [lead, lead + n); the rest of each row (and every other row) is zero
    const ptrdiff_t lead = g->stride == 1 ? stride1_lead(adjoint, g) : !adjoint ? 1 : 0;
    const ptrdiff_t n = adjoint ? g->out_height : h, width = adjoint ? g->out_width : w;
    ptrdiff_t low, high;
    copy_rows_read(adjoint, g, &l, first_row, rows, &low, &high);
    for (ptrdiff_t c = first_channel; c < first_channel + channels; c++) {
        const float *src = source + c * n * width;
        for (ptrdiff_t r = low; r < high; r++) {
            float *restrict dst = copy + r * l.pitch + c * L;
            const ptrdiff_t y = r - lead;
            if (y < 0 || y >= n) { memset(dst, 0, (size_t)L * sizeof(float)); continue; }
            const float *restrict row = src + y * width;
            if (adjoint || g->stride == 1) {
                memset(dst, 0, (size_t)lead * sizeof(float));
                memcpy(dst + lead, row, (size_t)width * sizeof(float));
                memset(dst + lead + width, 0, (size_t)(L - lead - width) * sizeof(float));
            } else {
                // padded column k is input column k − 1: even[j] = in[2j − 1], odd[j] = in[2j]
                float *restrict even = dst, *restrict odd = dst + l.even_length;
                const ptrdiff_t half = w / 2;
                even[0] = 0;
                for (ptrdiff_t j = 0; j < half; j++) { even[j + 1] = row[2 * j + 1]; odd[j] = row[2 * j]; }
                memset(even + half + 1, 0, (size_t)(l.even_length - half - 1) * sizeof(float));
                memset(odd + half, 0, (size_t)(L - l.even_length - half) * sizeof(float));
            }
        }
    }
}

LPN_MULTIVERSION(prepare, (int adjoint, const lpn_conv_shape *g, ptrdiff_t out_channels, const float *source,
                           ptrdiff_t first, ptrdiff_t n, ptrdiff_t first_row, ptrdiff_t rows, float *copy),
                 (adjoint, g, out_channels, source, first, n, first_row, rows, copy))

void lpn_direct_prepare(int adjoint, const lpn_conv_shape *g, ptrdiff_t out_channels, const float *source,
                        ptrdiff_t first_channel, ptrdiff_t channels, ptrdiff_t first_row, ptrdiff_t rows,
                        float *copy) {
    if (rows <= 0) return;
    LPN_DISPATCH(lpn_kernel_level(), prepare,
                 (adjoint, g, out_channels, source, first_channel, channels, first_row, rows, copy))
}

void lpn_direct_pack(int adjoint, const lpn_conv_shape *g, ptrdiff_t out_channels, const float *weight, float *packed) {
    const ptrdiff_t cin = g->channels, cout = out_channels, kk = g->kernel * g->kernel;
    if (!adjoint) {  // [c][t][o]
        for (ptrdiff_t o = 0; o < cout; o++)
            for (ptrdiff_t c = 0; c < cin; c++)
                for (ptrdiff_t t = 0; t < kk; t++) packed[(c * kk + t) * cout + o] = weight[(o * cin + c) * kk + t];
        return;
    }
    if (g->stride == 1) {  // [o][t][c], t = ky·k + kx
        for (ptrdiff_t o = 0; o < cout; o++)
            for (ptrdiff_t c = 0; c < cin; c++)
                for (ptrdiff_t t = 0; t < kk; t++) packed[(o * kk + t) * cin + c] = weight[(o * cin + c) * kk + t];
        return;
    }
    // stride 2: four parity classes one after the other, each [o][i][c] over its taps i
    ptrdiff_t start = 0;
    for (int k = 0; k < 4; k++) {
        for (ptrdiff_t o = 0; o < cout; o++)
            for (int i = 0; i < parity_counts[k]; i++)
                for (ptrdiff_t c = 0; c < cin; c++)
                    packed[start + (o * parity_counts[k] + i) * cin + c] = weight[(o * cin + c) * 9 + parity_taps[k][i]];
        start += cout * parity_counts[k] * cin;
    }
}

/// One level's tiles: out[b][n·lanes + x] (+)= Σ_c Σ_t w[(c·taps + t)·wstride + b] · src[c·plane + offsets[t] + n·lanes + x]
/// for b < block (or 1) channels and n < 2 (or 1) vectors.
typedef void (*tile_fn)(const float *src, ptrdiff_t plane, ptrdiff_t channels, const ptrdiff_t *offsets, int taps,
                        const float *w, ptrdiff_t wstride, float *out, ptrdiff_t out_plane, int accumulate);
struct level_tiles_;
typedef struct level_tiles_ level_tiles;

#define LPN_TILE(name, ATTR, VT, LANES, OB, NV)                                                              \
    ATTR static void name(const float *src, ptrdiff_t plane, ptrdiff_t channels, const ptrdiff_t *offsets,   \
                          int taps, const float *w, ptrdiff_t wstride, float *out, ptrdiff_t out_plane,      \
                          int accumulate) {                                                                   \
        VT acc[OB][NV];                                                                                       \
        for (int b = 0; b < OB; b++)                                                                          \
            for (int n = 0; n < NV; n++)                                                                      \
                acc[b][n] = accumulate ? *(const VT *)(out + b * out_plane + n * LANES) : (VT){0};            \
        for (ptrdiff_t c = 0; c < channels; c++) {                                                            \
            const float *sc = src + c * plane;                                                                \
            const float *wc = w + c * taps * wstride;                                                         \
            for (int t = 0; t < taps; t++) {                                                                  \
                VT v[NV];                                                                                     \
                for (int n = 0; n < NV; n++) v[n] = *(const VT *)(sc + offsets[t] + n * LANES);             \
                const float *wt = wc + t * wstride;                                                           \
                for (int b = 0; b < OB; b++) {                                                                \
                    const float wb = wt[b];                                                                   \
                    for (int n = 0; n < NV; n++) acc[b][n] += wb * v[n];                                     \
                }                                                                                             \
            }                                                                                                 \
        }                                                                                                     \
        for (int b = 0; b < OB; b++)                                                                          \
            for (int n = 0; n < NV; n++) *(VT *)(out + b * out_plane + n * LANES) = acc[b][n];               \
    }

/// Three rows at once, one vector each: out[b][r·out_row + x] (+)= Σ_c Σ_t w[(c·taps + t)·wstride + b] ·
/// src[c·plane + offsets[t] + r·row_step + x] for r < 3, b < OB. Each broadcast weight then
/// feeds three multiply-adds instead of two, which leaves the tile bound by its multiply-adds.
typedef void (*tile3_fn)(const float *src, ptrdiff_t plane, ptrdiff_t channels, const ptrdiff_t *offsets, int taps,
                         ptrdiff_t row_step, const float *w, ptrdiff_t wstride, float *out, ptrdiff_t out_plane,
                         ptrdiff_t out_row, int accumulate);

struct level_tiles_ {
    int lanes, block;
    tile_fn wide, narrow, wide_single, narrow_single;  // block × 2, block × 1, 1 × 2, 1 × 1 vectors
    tile3_fn three;                                     // block × 3 rows × 1 vector (NULL: rows one by one)
};

#define LPN_TILE3(name, ATTR, VT, OB)                                                                          \
    ATTR static void name(const float *src, ptrdiff_t plane, ptrdiff_t channels, const ptrdiff_t *offsets,   \
                          int taps, ptrdiff_t row_step, const float *w, ptrdiff_t wstride, float *out,        \
                          ptrdiff_t out_plane, ptrdiff_t out_row, int accumulate) {                           \
        VT acc[OB][3];                                                                                        \
        for (int b = 0; b < OB; b++)                                                                          \
            for (int r = 0; r < 3; r++)                                                                       \
                acc[b][r] = accumulate ? *(const VT *)(out + b * out_plane + r * out_row) : (VT){0};          \
        for (ptrdiff_t c = 0; c < channels; c++) {                                                            \
            const float *sc = src + c * plane;                                                                \
            const float *wc = w + c * taps * wstride;                                                         \
            for (int t = 0; t < taps; t++) {                                                                  \
                const float *p = sc + offsets[t];                                                             \
                const VT v0 = *(const VT *)p, v1 = *(const VT *)(p + row_step),                             \
                         v2 = *(const VT *)(p + 2 * row_step);                                                \
                const float *wt = wc + t * wstride;                                                           \
                for (int b = 0; b < OB; b++) {                                                                \
                    const float wb = wt[b];                                                                   \
                    acc[b][0] += wb * v0;                                                                     \
                    acc[b][1] += wb * v1;                                                                     \
                    acc[b][2] += wb * v2;                                                                     \
                }                                                                                             \
            }                                                                                                 \
        }                                                                                                     \
        for (int b = 0; b < OB; b++)                                                                          \
            for (int r = 0; r < 3; r++) *(VT *)(out + b * out_plane + r * out_row) = acc[b][r];              \
    }

typedef float v16f __attribute__((vector_size(64), aligned(4)));
typedef float v8f __attribute__((vector_size(32), aligned(4)));
typedef float v4f __attribute__((vector_size(16), aligned(4)));

LPN_TILE(tile512_w, LPN_AVX512, v16f, 16, 8, 2)
LPN_TILE(tile512_n, LPN_AVX512, v16f, 16, 8, 1)
LPN_TILE(tile512_w1, LPN_AVX512, v16f, 16, 1, 2)
LPN_TILE(tile512_n1, LPN_AVX512, v16f, 16, 1, 1)
LPN_TILE(tile256_w, LPN_AVX2, v8f, 8, 4, 2)
LPN_TILE(tile256_n, LPN_AVX2, v8f, 8, 4, 1)
LPN_TILE(tile256_w1, LPN_AVX2, v8f, 8, 1, 2)
LPN_TILE(tile256_n1, LPN_AVX2, v8f, 8, 1, 1)
LPN_TILE(tile128_w, , v4f, 4, 4, 2)
LPN_TILE(tile128_n, , v4f, 4, 4, 1)
LPN_TILE(tile128_w1, , v4f, 4, 1, 2)
LPN_TILE(tile128_n1, , v4f, 4, 1, 1)

// Only AVX-512 has the registers for it (24 accumulators of 32); at AVX2 (12 of 16) the compiler
// spills and shuffles, so that level keeps rows one by one.
LPN_TILE3(tile512_3, LPN_AVX512, v16f, 8)

static const level_tiles levels[3] = {
    {4, 4, tile128_w, tile128_n, tile128_w1, tile128_n1, NULL},
    {8, 4, tile256_w, tile256_n, tile256_w1, tile256_n1, NULL},
    {16, 8, tile512_w, tile512_n, tile512_w1, tile512_n1, tile512_3},
};

/// Source channels per pass over a row; later passes add onto the row. Within a pass the tiles
/// go pixel run by pixel run and, for each run, through every block of output channels, so the
/// run's source (32 channels × 3 rows × 32 pixels) stays in L1 while the weights stream past.
#define LPN_DIRECT_CHANNEL_CHUNK 32

/// `rows` (1, or 3 where the level has a three-row tile) output rows of `out_channels` channels
/// (row r of channel o at out + o·out_plane + r·out_row, its source at src + r·row_step) over
/// `width` pixels: whole tiles, then a last partial vector through `temp` (block × lanes floats).
static void row_tiles(const level_tiles *k, const float *src, ptrdiff_t row_step, ptrdiff_t plane,
                      ptrdiff_t channels, const ptrdiff_t *offsets, int taps, const float *w, ptrdiff_t out_channels,
                      float *out, ptrdiff_t out_row, ptrdiff_t out_plane, ptrdiff_t width, int rows, int accumulate,
                      float *temp) {
    const ptrdiff_t lanes = k->lanes;
    for (ptrdiff_t c = 0; c < channels; c += LPN_DIRECT_CHANNEL_CHUNK) {
        const ptrdiff_t n = channels - c < LPN_DIRECT_CHANNEL_CHUNK ? channels - c : LPN_DIRECT_CHANNEL_CHUNK;
        const float *sc = src + c * plane;
        const int acc = accumulate || c > 0;
        for (ptrdiff_t x = 0; x < width;) {
            if (rows == 3) {
                const ptrdiff_t rest = width - x < lanes ? width - x : lanes;
                for (ptrdiff_t o = 0; o < out_channels;) {
                    const float *wc = w + c * taps * out_channels + o;
                    float *oo = out + o * out_plane + x;
                    if (out_channels - o >= k->block && rest == lanes) {
                        k->three(sc + x, plane, n, offsets, taps, row_step, wc, out_channels, oo, out_plane, out_row,
                                 acc);
                        o += k->block;
                    } else if (out_channels - o >= k->block) {
                        // the last partial vector of three rows, through temp: [b][r][lanes]
                        for (ptrdiff_t b = 0; b < k->block; b++)
                            for (int r = 0; r < 3; r++) {
                                float *t = temp + (b * 3 + r) * lanes;
                                memset(t, 0, (size_t)lanes * sizeof(float));
                                if (acc) memcpy(t, oo + b * out_plane + r * out_row, (size_t)rest * sizeof(float));
                            }
                        k->three(sc + x, plane, n, offsets, taps, row_step, wc, out_channels, temp, 3 * lanes, lanes,
                                 acc);
                        for (ptrdiff_t b = 0; b < k->block; b++)
                            for (int r = 0; r < 3; r++)
                                memcpy(oo + b * out_plane + r * out_row, temp + (b * 3 + r) * lanes,
                                       (size_t)rest * sizeof(float));
                        o += k->block;
                    } else if (rest < lanes) {
                        // a last channel's partial vector: row by row through temp
                        for (int r = 0; r < 3; r++) {
                            memset(temp, 0, (size_t)lanes * sizeof(float));
                            if (acc) memcpy(temp, oo + r * out_row, (size_t)rest * sizeof(float));
                            k->narrow_single(sc + x + r * row_step, plane, n, offsets, taps, wc, out_channels, temp,
                                             lanes, acc);
                            memcpy(oo + r * out_row, temp, (size_t)rest * sizeof(float));
                        }
                        o += 1;
                    } else {
                        for (int r = 0; r < 3; r++)
                            k->narrow_single(sc + x + r * row_step, plane, n, offsets, taps, wc, out_channels,
                                             oo + r * out_row, out_plane, acc);
                        o += 1;
                    }
                }
                x += lanes;
                continue;
            }
            const ptrdiff_t step = x + 2 * lanes <= width ? 2 * lanes : lanes;
            for (int r = 0; r < rows; r++) {
                const float *sr = sc + r * row_step;
                for (ptrdiff_t o = 0; o < out_channels;) {
                    const int blocked = out_channels - o >= k->block;
                    const ptrdiff_t count = blocked ? k->block : 1;
                    tile_fn wide = blocked ? k->wide : k->wide_single, narrow = blocked ? k->narrow : k->narrow_single;
                    float *oo = out + o * out_plane + r * out_row;
                    const float *wc = w + c * taps * out_channels + o;
                    if (x + step <= width) {
                        (step == 2 * lanes ? wide : narrow)(sr + x, plane, n, offsets, taps, wc, out_channels, oo + x,
                                                            out_plane, acc);
                    } else {
                        const ptrdiff_t rest = width - x;
                        for (ptrdiff_t b = 0; b < count; b++) {
                            memset(temp + b * lanes, 0, (size_t)lanes * sizeof(float));
                            if (acc) memcpy(temp + b * lanes, oo + b * out_plane + x, (size_t)rest * sizeof(float));
                        }
                        narrow(sr + x, plane, n, offsets, taps, wc, out_channels, temp, lanes, acc);
                        for (ptrdiff_t b = 0; b < count; b++)
                            memcpy(oo + b * out_plane + x, temp + b * lanes, (size_t)rest * sizeof(float));
                    }
                    o += count;
                }
            }
            x += step;
        }
    }
}

/// The stride-2 adjoint's last step for one input row: columns [x0, x1) of each of `channels`
/// rows (dst + c·plane) (+)= the even and odd half-width rows interleaved (vectorised per level).
static inline LPN_BODY void interleave_body(float *dst, ptrdiff_t plane, const float *even_rows,
                                            const float *odd_rows, ptrdiff_t half, ptrdiff_t channels,
                                            ptrdiff_t x0, ptrdiff_t x1, int accumulate) {
    // whole pairs (2j, 2j + 1) inside [x0, x1), then the odd column before and the even one after
    const ptrdiff_t p0 = (x0 + 1) / 2, p1 = x1 / 2;
    for (ptrdiff_t c = 0; c < channels; c++) {
        float *restrict row = dst + c * plane;
        const float *restrict even = even_rows + c * half, *restrict odd = odd_rows + c * half;
        if (accumulate) {
            for (ptrdiff_t j = p0; j < p1; j++) { row[2 * j] += even[j]; row[2 * j + 1] += odd[j]; }
            if (x0 % 2) row[x0] += odd[x0 / 2];
            if (x1 % 2) row[x1 - 1] += even[x1 / 2];
        } else {
            for (ptrdiff_t j = p0; j < p1; j++) { row[2 * j] = even[j]; row[2 * j + 1] = odd[j]; }
            if (x0 % 2) row[x0] = odd[x0 / 2];
            if (x1 % 2) row[x1 - 1] = even[x1 / 2];
        }
    }
}

LPN_MULTIVERSION(interleave, (float *dst, ptrdiff_t plane, const float *even, const float *odd, ptrdiff_t half,
                              ptrdiff_t channels, ptrdiff_t x0, ptrdiff_t x1, int accumulate),
                 (dst, plane, even, odd, half, channels, x0, x1, accumulate))

void lpn_direct_rows(int adjoint, const lpn_conv_shape *g, ptrdiff_t out_channels, const float *copy,
                     const float *packed, ptrdiff_t first_row, ptrdiff_t rows, ptrdiff_t first_column,
                     ptrdiff_t columns, float *scratch, float *output, int accumulate) {
    lpn_direct_rows_at(lpn_kernel_level(), adjoint, g, out_channels, copy, packed, first_row, rows, first_column,
                       columns, scratch, output, accumulate);
}

void lpn_direct_rows_at(int level, int adjoint, const lpn_conv_shape *g, ptrdiff_t out_channels, const float *copy,
                        const float *packed, ptrdiff_t first_row, ptrdiff_t rows, ptrdiff_t first_column,
                        ptrdiff_t columns, float *scratch, float *output, int accumulate) {
    const int cpu = lpn_kernel_level(), at = level < 0 ? 0 : level > cpu ? cpu : level;
    const level_tiles *k = &levels[at];
    const copy_layout l = layout(adjoint, g, out_channels);
    // channels of a copied row are row_length apart, rows pitch apart
    const ptrdiff_t plane = l.row_length, P = l.pitch;
    float *temp = scratch;
    const int kernel = (int)g->kernel, taps = kernel * kernel;
    ptrdiff_t offsets[LPN_DIRECT_MAX_TAPS];
    if (!adjoint) {
        for (int ky = 0; ky < kernel; ky++)
            for (int kx = 0; kx < kernel; kx++)
                offsets[ky * kernel + kx] = ky * P + (g->stride == 1 ? kx : (kx == 0 ? 0 : kx == 1 ? l.even_length : 1));
        const ptrdiff_t ow = g->out_width, out_plane = g->out_height * ow, x0 = first_column;
        for (ptrdiff_t oy = first_row; oy < first_row + rows;) {
            const int group = k->three && oy + 3 <= first_row + rows ? 3 : 1;
            row_tiles(k, copy + g->stride * oy * P + x0, g->stride * P, plane, g->channels, offsets, taps, packed,
                      out_channels, output + oy * ow + x0, ow, out_plane, columns, group, accumulate, temp);
            oy += group;
        }
        return;
    }
    // adjoint: the layer's output channels are the sum's sources, its input channels the outputs
    const ptrdiff_t cin = g->channels, width = g->width, in_plane = g->height * width;
    if (g->stride == 1) {
        for (int ky = 0; ky < kernel; ky++)
            for (int kx = 0; kx < kernel; kx++)
                offsets[ky * kernel + kx] = (kernel - 1 - ky) * P + (kernel - 1 - kx);
        for (ptrdiff_t iy = first_row; iy < first_row + rows;) {
            const int group = k->three && iy + 3 <= first_row + rows ? 3 : 1;
            row_tiles(k, copy + iy * P + first_column, P, plane, out_channels, offsets, taps, packed, cin,
                      output + iy * width + first_column, width, in_plane, columns, group, accumulate, temp);
            iy += group;
        }
        return;
    }
    if (columns <= 0) return;
    const ptrdiff_t ow = g->out_width, half = round_up(ow, LPN_DIRECT_ROUNDING);
    float *parity[2] = {scratch + LPN_DIRECT_TEMP, scratch + LPN_DIRECT_TEMP + cin * half};
    // class k = 2·py + px: tap offsets (δ row m at 0, row m + 1 at P; column j at 0, j + 1 at 1)
    const int *counts = parity_counts;
    // parity_taps' order: (1,1); (1,2), (1,0); (2,1), (0,1); (2,2), (2,0), (0,2), (0,0)
    const ptrdiff_t parity_offsets[4][4] = {{0}, {0, 1}, {0, P}, {0, 1, P, P + 1}};
    ptrdiff_t starts[4], start = 0;
    for (int c = 0; c < 4; c++) { starts[c] = start; start += out_channels * counts[c] * cin; }
    // input columns [x0, x1) are 2j + px for j in [j0, j1): both parities are computed over that range
    const ptrdiff_t x0 = first_column, x1 = first_column + columns, j0 = x0 / 2, j1 = (x1 + 1) / 2;
    for (ptrdiff_t iy = first_row; iy < first_row + rows; iy++) {
        const ptrdiff_t m = iy / 2, py = iy % 2;
        for (int px = 0; px < 2; px++) {
            const int cls = (int)(2 * py + px);
            row_tiles(k, copy + m * P + j0, 0, plane, out_channels, parity_offsets[cls], counts[cls], packed + starts[cls],
                      cin, parity[px] + j0, 0, half, j1 - j0, 1, 0, temp);
        }
        LPN_DISPATCH(at, interleave,
                     (output + iy * width, in_plane, parity[0], parity[1], half, cin, x0, x1, accumulate))
    }
}
