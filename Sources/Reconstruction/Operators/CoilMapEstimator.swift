import Foundation

/// Coil sensitivities from a frame's own fully sampled k-space centre, by the eigenvector
/// method of Walsh et al. (MRM 2000) on low-resolution coil images (docs/MATH.md §7):
///
///     calibration block  the widest run of sampled phase-encode rows around DC (±r rows),
///                        with a Hann taper in ky over it and in kx over ±r·W/H
///     low-res images     ℓ_c = F⁻¹(taper ⊙ y_c)                         [C, H, W]
///     coil covariance    R(p) = Σ_{q ∈ window(p)} ℓ(q) ℓ(q)ᴴ             C×C per pixel
///     sensitivity        S(p) = dominant eigenvector of R(p) (power iteration), ‖S(p)‖ = 1
///     phase reference    S(p) ← S(p)·exp(i·arg(S(p)ᴴ ℓ(p)))
///
/// The phase reference makes Sᴴℓ real and positive: the object's own low-resolution phase
/// moves into the maps, so the image the solver reconstructs, m = Sᴴ(coil images), is real
/// and non-negative where the object's phase is smooth, and a real-valued prior sees the
/// magnitude instead of a real part that phase would shrink or flip.
///
/// Why not ESPIRiT: its calibration-matrix SVD and per-pixel eigen-decomposition of the
/// kernel's image-domain operator cost more per frame, and its extra (second) maps for
/// folded fields of view do not arise in lpnd's fully covered, unfolded frames; Walsh's
/// method needs only the low-resolution images and a C×C matrix per pixel. Both return the
/// maps up to a per-pixel phase, fixed here by the reference.
public final class CoilMapEstimator {
    public let coils: Int, height: Int, width: Int
    /// Half-width of the covariance window (pixels).
    public let window: Int
    /// The fewest central rows a frame must have sampled.
    public static let minimumCalibrationRows = 6
    private let plan: FFTPlan
    private var lowRes: [Float]
    private var covariance: [Float]

    public init(coils: Int, height: Int, width: Int, window: Int = 3) {
        self.coils = coils
        self.height = height
        self.width = width
        self.window = window
        plan = FFTPlan(dimensions: [height, width])
        lowRes = [Float](repeating: 0, count: 2 * coils * height * width)
        covariance = [Float](repeating: 0, count: 2 * coils * coils * height * width)
    }

    /// Rows ±r around DC that are all sampled (unshifted indices), as r; 0 when DC is missing.
    public static func calibrationHalfWidth(sampledRows: Set<Int>, height: Int) -> Int {
        guard sampledRows.contains(0) else { return 0 }
        var r = 0
        while r + 1 < height / 2, sampledRows.contains(r + 1), sampledRows.contains((height - r - 1) % height) { r += 1 }
        return r
    }

    /// Estimates normalised, phase-referenced maps from unshifted k-space [C, H, W].
    /// Throws when fewer than ``minimumCalibrationRows`` central rows are sampled.
    public func estimate(kspace y: UnsafePointer<Float>, sampledRows: Set<Int>) throws -> (maps: CoilMaps, lowResolution: [Float]) {
        let h = height, w = width, n = h * w, c = coils
        let r = Self.calibrationHalfWidth(sampledRows: sampledRows, height: h)
        guard 2 * r + 1 >= Self.minimumCalibrationRows else {
            throw ReconstructionError.invalidArgument("coil calibration needs at least \(Self.minimumCalibrationRows) fully sampled central phase-encode rows; this frame has \(sampledRows.contains(0) ? 2 * r + 1 : 0)")
        }
        // Low-resolution coil images: Hann-tapered calibration block, inverse FFT.
        let rx = max(1, Int((Double(r) * Double(w) / Double(h)).rounded()))
        func taper(_ k: Int, _ half: Int) -> Float {
            guard abs(k) <= half else { return 0 }
            return Float(0.5 + 0.5 * cos(Double.pi * Double(k) / Double(half + 1)))
        }
        let b = plan.buffer
        for coil in 0..<c {
            for row in 0..<h {
                let ky = row < (h + 1) / 2 ? row : row - h
                let ty = taper(ky, r)
                for col in 0..<w {
                    let kx = col < (w + 1) / 2 ? col : col - w
                    let t = ty * taper(kx, rx)
                    let i = row * w + col, src = 2 * (coil * n + i)
                    b[2 * i] = t * y[src]; b[2 * i + 1] = t * y[src + 1]
                }
            }
            plan.inverse()
            lowRes.withUnsafeMutableBufferPointer { (($0.baseAddress! + 2 * coil * n)).update(from: b, count: 2 * n) }
        }
        boxCovariance()
        var maps = [Float](repeating: 0, count: 2 * c * n)
        var v = [Float](repeating: 0, count: 2 * c), next = v
        for p in 0..<n {
            // Power iteration from the pixel's own coil vector.
            for k in 0..<c { v[2 * k] = lowRes[2 * (k * n + p)]; v[2 * k + 1] = lowRes[2 * (k * n + p) + 1] }
            var norm = vectorNorm(v)
            if norm == 0 { v[0] = 1; norm = 1 }
            for i in 0..<v.count { v[i] /= norm }
            for _ in 0..<8 {
                for row in 0..<c {
                    var re: Float = 0, im: Float = 0
                    for col in 0..<c {
                        let e = 2 * ((row * c + col) * n + p)
                        let ar = covariance[e], ai = covariance[e + 1], xr = v[2 * col], xi = v[2 * col + 1]
                        re += ar * xr - ai * xi; im += ar * xi + ai * xr
                    }
                    next[2 * row] = re; next[2 * row + 1] = im
                }
                let m = vectorNorm(next)
                guard m > 0 else { break }
                for i in 0..<v.count { v[i] = next[i] / m }
            }
            for k in 0..<c { maps[2 * (k * n + p)] = v[2 * k]; maps[2 * (k * n + p) + 1] = v[2 * k + 1] }
        }
        return (CoilMaps(coils: c, height: h, width: w, values: maps).phaseReferenced(to: lowRes), lowRes)
    }

    private func vectorNorm(_ v: [Float]) -> Float {
        var s: Float = 0
        for x in v { s += x * x }
        return s.squareRoot()
    }

    /// covariance[(a·C + b), p] = Σ over the (2·window+1)² box around p of ℓ_a ℓ_b* (edges
    /// clamp the box), as separable box sums.
    private func boxCovariance() {
        let h = height, w = width, n = h * w, c = coils, half = window
        var product = [Float](repeating: 0, count: 2 * n), rows = product
        for a in 0..<c {
            for bIndex in 0..<c {
                for p in 0..<n {
                    let ar = lowRes[2 * (a * n + p)], ai = lowRes[2 * (a * n + p) + 1]
                    let br = lowRes[2 * (bIndex * n + p)], bi = lowRes[2 * (bIndex * n + p) + 1]
                    product[2 * p] = ar * br + ai * bi; product[2 * p + 1] = ai * br - ar * bi
                }
                // Horizontal then vertical box sums.
                for row in 0..<h {
                    for col in 0..<w {
                        var re: Float = 0, im: Float = 0
                        for q in max(0, col - half)...min(w - 1, col + half) {
                            re += product[2 * (row * w + q)]; im += product[2 * (row * w + q) + 1]
                        }
                        rows[2 * (row * w + col)] = re; rows[2 * (row * w + col) + 1] = im
                    }
                }
                let base = 2 * (a * c + bIndex) * n
                for row in 0..<h {
                    for col in 0..<w {
                        var re: Float = 0, im: Float = 0
                        for q in max(0, row - half)...min(h - 1, row + half) {
                            re += rows[2 * (q * w + col)]; im += rows[2 * (q * w + col) + 1]
                        }
                        covariance[base + 2 * (row * w + col)] = re; covariance[base + 2 * (row * w + col) + 1] = im
                    }
                }
            }
        }
    }
}
