/// im2col / col2im for square convolutions: a convolution becomes one sgemm.
///
/// The column matrix has `patchLength` rows (input channel, ky, kx) and `outPixels` columns.
/// col2im is the exact adjoint of im2col (it accumulates), so the input gradient of a
/// convolution is col2im(Wᵀ · δ).
enum Im2Col {
    static func expand(_ input: UnsafePointer<Float>, _ g: ConvGeometry, into cols: UnsafeMutablePointer<Float>) {
        let k = g.kernel, s = g.stride, p = g.padding, size = g.inSize, out = g.outSize
        for c in 0..<g.inChannels {
            let plane = input + c * size * size
            for ky in 0..<k {
                for kx in 0..<k {
                    let row = cols + ((c * k + ky) * k + kx) * out * out
                    // Output columns whose input column lies inside the image.
                    let lo = min(out, max(0, (p - kx + s - 1) / s))
                    let hi = max(lo, min(out, (size - 1 + p - kx) / s + 1))
                    for oy in 0..<out {
                        let iy = oy * s - p + ky
                        let dst = row + oy * out
                        guard iy >= 0 && iy < size else {
                            dst.update(repeating: 0, count: out)
                            continue
                        }
                        let src = plane + iy * size
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
                        if hi < out { (dst + hi).update(repeating: 0, count: out - hi) }
                    }
                }
            }
        }
    }

    /// Adds the columns back onto the image grid: `image += col2im(cols)`.
    static func accumulate(_ cols: UnsafePointer<Float>, _ g: ConvGeometry, into image: UnsafeMutablePointer<Float>) {
        let k = g.kernel, s = g.stride, p = g.padding, size = g.inSize, out = g.outSize
        for c in 0..<g.inChannels {
            let plane = image + c * size * size
            for ky in 0..<k {
                for kx in 0..<k {
                    let row = cols + ((c * k + ky) * k + kx) * out * out
                    let lo = min(out, max(0, (p - kx + s - 1) / s))
                    let hi = max(lo, min(out, (size - 1 + p - kx) / s + 1))
                    for oy in 0..<out {
                        let iy = oy * s - p + ky
                        guard iy >= 0 && iy < size else { continue }
                        let src = row + oy * out
                        let dst = plane + iy * size
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
}
