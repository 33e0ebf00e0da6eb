/// The reference's bilinear resize by 1/2, 1/4, 1/8 (align_corners false, no antialias).
///
/// For these factors the sample point falls exactly between two pixels per axis, so each
/// output is the mean of a 2×2 block starting at offset factor/2 − 1; the adjoint spreads a
/// quarter of each gradient back onto that block. Height and width must be multiples of the
/// factor.
enum Downsample {
    static func apply(_ input: UnsafePointer<Float>, channels: Int, height: Int, width: Int, factor: Int,
                      into output: UnsafeMutablePointer<Float>) {
        let outHeight = height / factor, outWidth = width / factor, offset = factor / 2 - 1
        for c in 0..<channels {
            let src = input + c * height * width, dst = output + c * outHeight * outWidth
            for i in 0..<outHeight {
                let r0 = src + (factor * i + offset) * width, r1 = r0 + width
                for j in 0..<outWidth {
                    let x = factor * j + offset
                    dst[i * outWidth + j] = 0.25 * ((r0[x] + r0[x + 1]) + (r1[x] + r1[x + 1]))
                }
            }
        }
    }

    /// `gradient += Dᵀ(upstream)`.
    static func accumulateAdjoint(_ upstream: UnsafePointer<Float>, channels: Int, height: Int, width: Int,
                                  factor: Int, into gradient: UnsafeMutablePointer<Float>) {
        let outHeight = height / factor, outWidth = width / factor, offset = factor / 2 - 1
        for c in 0..<channels {
            let src = upstream + c * outHeight * outWidth, dst = gradient + c * height * width
            for i in 0..<outHeight {
                let r0 = dst + (factor * i + offset) * width, r1 = r0 + width
                for j in 0..<outWidth {
                    let x = factor * j + offset, g = 0.25 * src[i * outWidth + j]
                    r0[x] += g; r0[x + 1] += g; r1[x] += g; r1[x + 1] += g
                }
            }
        }
    }
}
