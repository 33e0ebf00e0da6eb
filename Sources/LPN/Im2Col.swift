/// im2col / col2im for convolutions with square kernels: a convolution becomes one sgemm.
///
/// The column matrix has `patchLength` rows (input channel, ky, kx) and `outPixels` columns (output rows of `outWidth`).
/// col2im is the exact adjoint of im2col (it accumulates), so the input gradient of a
/// convolution is col2im(Wᵀ · δ).
enum Im2Col {
    /// The output columns `lo..<hi` whose input column (ox·stride − padding + kx) lies inside
    /// the image; the others read padding.
    @inline(__always)
    static func insideColumns(_ g: ConvGeometry, kx: Int) -> (Int, Int) {
        let (s, p, out) = (g.stride, g.padding, g.outWidth)
        let lo = min(out, max(0, (p - kx + s - 1) / s))
        let hi = max(lo, min(out, (g.inWidth - 1 + p - kx) / s + 1))
        return (lo, hi)
    }

    static func expand(_ input: UnsafePointer<Float>, _ g: ConvGeometry, into cols: UnsafeMutablePointer<Float>) {
        let k = g.kernel, s = g.stride, p = g.padding, height = g.inHeight, width = g.inWidth
        let outHeight = g.outHeight, outWidth = g.outWidth, pixels = g.outPixels
        for c in 0..<g.inChannels {
            let plane = input + c * height * width
            for ky in 0..<k {
                for kx in 0..<k {
                    let row = cols + ((c * k + ky) * k + kx) * pixels
                    let (lo, hi) = insideColumns(g, kx: kx)
                    for oy in 0..<outHeight {
                        let iy = oy * s - p + ky
                        let dst = row + oy * outWidth
                        guard iy >= 0 && iy < height else {
                            dst.update(repeating: 0, count: outWidth)
                            continue
                        }
                        let src = plane + iy * width
                        if lo > 0 { dst.update(repeating: 0, count: lo) }
                        if s == 1 {
                            (dst + lo).update(from: src + (lo - p + kx), count: hi - lo)
                        } else {
                            var ix = lo * s - p + kx
                            for ox in lo..<hi {
                                dst[ox] = src[ix]
                                ix += s
                            }
                        }
                        if hi < outWidth { (dst + hi).update(repeating: 0, count: outWidth - hi) }
                    }
                }
            }
        }
    }

    /// Adds the columns back onto the image grid: `image += col2im(cols)`.
    static func accumulate(_ cols: UnsafePointer<Float>, _ g: ConvGeometry, into image: UnsafeMutablePointer<Float>) {
        let k = g.kernel, s = g.stride, p = g.padding, height = g.inHeight, width = g.inWidth
        let outHeight = g.outHeight, outWidth = g.outWidth, pixels = g.outPixels
        if k == 3 && s == 2 && p == 1 && height == 2 * outHeight && width == 2 * outWidth {
            accumulateStride2(cols, g, into: image)
            return
        }
        for c in 0..<g.inChannels {
            let plane = image + c * height * width
            for ky in 0..<k {
                for kx in 0..<k {
                    let row = cols + ((c * k + ky) * k + kx) * pixels
                    let (lo, hi) = insideColumns(g, kx: kx)
                    for oy in 0..<outHeight {
                        let iy = oy * s - p + ky
                        guard iy >= 0 && iy < height else { continue }
                        let src = row + oy * outWidth
                        let dst = plane + iy * width
                        var ix = lo * s - p + kx
                        for ox in lo..<hi {
                            dst[ix] += src[ox]
                            ix += s
                        }
                    }
                }
            }
        }
    }

    /// col2im for 3×3, stride 2, padding 1 on even sides: the three kx rows of one (c, ky)
    /// land on interleaved pixels 2·ox − 1, 2·ox, 2·ox + 1, so they are added in one sequential
    /// sweep of the destination row instead of three strided ones.
    private static func accumulateStride2(_ cols: UnsafePointer<Float>, _ g: ConvGeometry,
                                          into image: UnsafeMutablePointer<Float>) {
        let width = g.inWidth, outHeight = g.outHeight, outWidth = g.outWidth, pixels = g.outPixels
        for c in 0..<g.inChannels {
            let plane = image + c * g.inPixels
            for ky in 0..<3 {
                let base = cols + (c * 3 + ky) * 3 * pixels
                for oy in 0..<outHeight {
                    let iy = 2 * oy - 1 + ky
                    guard iy >= 0 else { continue }
                    let left = base + oy * outWidth, middle = left + pixels, right = middle + pixels
                    let dst = plane + iy * width
                    dst[0] += middle[0]
                    dst[1] += right[0]
                    for ox in 1..<outWidth {
                        let x = 2 * ox
                        dst[x - 1] += left[ox]
                        dst[x] += middle[ox]
                        dst[x + 1] += right[ox]
                    }
                }
            }
        }
    }
}
