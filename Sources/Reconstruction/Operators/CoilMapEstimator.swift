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
    /// The packed upper triangle of each pixel's coil covariance, for one band of rows.
    private var covariance: [Float]
    private var horizontal: [Float]

    public init(coils: Int, height: Int, width: Int, window: Int = 3) {
        self.coils = coils
        self.height = height
        self.width = width
        self.window = window
        plan = FFTPlan(dimensions: [height, width])
        lowRes = [Float](repeating: 0, count: 2 * coils * height * width)
        covariance = [Float](repeating: 0, count: 2 * (coils * (coils + 1) / 2) * Self.band * width)
        horizontal = [Float](repeating: 0, count: 2 * (Self.band + 2 * window) * width)
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
        var maps = [Float](repeating: 0, count: 2 * c * n)
        var v = [Float](repeating: 0, count: 2 * c), next = v
        // Bands of rows: the covariance of one band at a time keeps memory at O(C²·W·band).
        for start in stride(from: 0, to: h, by: Self.band) {
            let end = min(h, start + Self.band)
            bandCovariance(rows: start..<end)
            for p in (start * w)..<(end * w) {
                let local = p - start * w
                // Power iteration from the pixel's own coil vector.
                for k in 0..<c { v[2 * k] = lowRes[2 * (k * n + p)]; v[2 * k + 1] = lowRes[2 * (k * n + p) + 1] }
                var norm = vectorNorm(v)
                if norm == 0 { v[0] = 1; norm = 1 }
                for i in 0..<v.count { v[i] /= norm }
                for _ in 0..<8 {
                    for row in 0..<c {
                        var re: Float = 0, im: Float = 0
                        for col in 0..<c {
                            // R is Hermitian: the upper triangle is stored, R[col][row] = conj(R[row][col]).
                            let e = 2 * (Self.pair(min(row, col), max(row, col), c) * bandPixels + local)
                            let ar = covariance[e], ai = row <= col ? covariance[e + 1] : -covariance[e + 1]
                            let xr = v[2 * col], xi = v[2 * col + 1]
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
        }
        return (CoilMaps(coils: c, height: h, width: w, values: maps).phaseReferenced(to: lowRes), lowRes)
    }

    /// Rows per covariance band.
    static let band = 8
    private var bandPixels: Int { Self.band * width }

    /// Index of the pair (a ≤ b) in the packed upper triangle of a C×C matrix.
    static func pair(_ a: Int, _ b: Int, _ c: Int) -> Int { a * c - a * (a - 1) / 2 + (b - a) }

    private func vectorNorm(_ v: [Float]) -> Float {
        var s: Float = 0
        for x in v { s += x * x }
        return s.squareRoot()
    }

    /// covariance[pair(a, b), p] = Σ over the (2·window+1)² box around pixel p of ℓ_a ℓ_b*
    /// (a ≤ b; edges clamp the box) for the pixels of `rows`, as separable box sums.
    private func bandCovariance(rows: Range<Int>) {
        let h = height, w = width, n = h * w, c = coils, half = window
        let lo = max(0, rows.lowerBound - half), hi = min(h, rows.upperBound + half)
        for a in 0..<c {
            for bIndex in a..<c {
                // Horizontal sums of ℓ_a ℓ_b* over the rows the band's boxes reach.
                for row in lo..<hi {
                    for col in 0..<w {
                        var re: Float = 0, im: Float = 0
                        for q in max(0, col - half)...min(w - 1, col + half) {
                            let i = row * w + q
                            let ar = lowRes[2 * (a * n + i)], ai = lowRes[2 * (a * n + i) + 1]
                            let br = lowRes[2 * (bIndex * n + i)], bi = lowRes[2 * (bIndex * n + i) + 1]
                            re += ar * br + ai * bi; im += ai * br - ar * bi
                        }
                        horizontal[2 * ((row - lo) * w + col)] = re; horizontal[2 * ((row - lo) * w + col) + 1] = im
                    }
                }
                let base = 2 * Self.pair(a, bIndex, c) * bandPixels
                for row in rows {
                    for col in 0..<w {
                        var re: Float = 0, im: Float = 0
                        for q in max(0, row - half)...min(h - 1, row + half) {
                            re += horizontal[2 * ((q - lo) * w + col)]; im += horizontal[2 * ((q - lo) * w + col) + 1]
                        }
                        let i = base + 2 * ((row - rows.lowerBound) * w + col)
                        covariance[i] = re; covariance[i + 1] = im
                    }
                }
            }
        }
    }
}
