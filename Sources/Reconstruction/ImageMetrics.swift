import Foundation

/// Image quality against a reference, data range 1 (images in [0, 1]).
public enum ImageMetrics {
    /// 10·log10(1 / MSE).
    public static func psnr(_ x: [Float], _ reference: [Float]) -> Double {
        precondition(x.count == reference.count)
        var mse = 0.0
        for i in 0..<x.count { let d = Double(x[i]) - Double(reference[i]); mse += d * d }
        mse /= Double(x.count)
        return mse == 0 ? .infinity : 10 * log10(1 / mse)
    }

    /// SSIM as scikit-image's `structural_similarity` defaults (data_range 1): 7×7 uniform
    /// window, K1 = 0.01, K2 = 0.03, sample covariances, mean over the windows fully inside.
    public static func ssim(_ x: [Float], _ reference: [Float], height h: Int, width w: Int) -> Double {
        precondition(x.count == h * w && reference.count == h * w)
        let win = 7, half = win / 2
        guard h >= win && w >= win else { return .nan }
        let np = Double(win * win), covNorm = np / (np - 1)
        let c1 = 0.01 * 0.01, c2 = 0.03 * 0.03
        // Summed-area tables of x, y, x², y², xy.
        let sw = w + 1
        var sx = [Double](repeating: 0, count: (h + 1) * sw), sy = sx, sxx = sx, syy = sx, sxy = sx
        for i in 0..<h {
            var ax = 0.0, ay = 0.0, axx = 0.0, ayy = 0.0, axy = 0.0
            for j in 0..<w {
                let a = Double(x[i * w + j]), b = Double(reference[i * w + j])
                ax += a; ay += b; axx += a * a; ayy += b * b; axy += a * b
                let k = (i + 1) * sw + j + 1, up = i * sw + j + 1
                sx[k] = sx[up] + ax; sy[k] = sy[up] + ay
                sxx[k] = sxx[up] + axx; syy[k] = syy[up] + ayy; sxy[k] = sxy[up] + axy
            }
        }
        func box(_ t: [Double], _ i: Int, _ j: Int) -> Double {
            let i0 = i - half, j0 = j - half, i1 = i + half + 1, j1 = j + half + 1
            return t[i1 * sw + j1] - t[i0 * sw + j1] - t[i1 * sw + j0] + t[i0 * sw + j0]
        }
        var total = 0.0, count = 0
        for i in half..<(h - half) {
            for j in half..<(w - half) {
                let ux = box(sx, i, j) / np, uy = box(sy, i, j) / np
                let vx = covNorm * (box(sxx, i, j) / np - ux * ux)
                let vy = covNorm * (box(syy, i, j) / np - uy * uy)
                let vxy = covNorm * (box(sxy, i, j) / np - ux * uy)
                let s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
                total += s
                count += 1
            }
        }
        return total / Double(count)
    }
}
