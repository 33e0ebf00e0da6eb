import Foundation
import TensorIO
import LPN
import Support

/// Single-coil Cartesian MRI: y = M ⊙ F x with F the orthonormal 2-D FFT (unshifted: k-space
/// index (0, 0) is DC, as `numpy.fft.fft2(x, norm="ortho")`) and M a 0/1 sampling mask.
/// Measurements are the full H×W k-space, complex64, zero where not sampled.
///
/// Real image: Aᵀy = Re(F⁻¹(M ⊙ y)), and AᵀA = F⁻¹ diag(Mₛ) F with Mₛ(k) = (M(k) + M(−k))/2,
/// so the normal solve is exact in Fourier: x = Re(F⁻¹((a·Mₛ + b)⁻¹ F r)). Complex image:
/// Aᴴy = F⁻¹(M ⊙ y), solve with M itself.
public final class MRIOperator: LinearOperator {
    /// The mask in use: the pipeline's, or the rows a frame sampled (``sample(rows:)``).
    public private(set) var mask: MRIMask
    /// The pipeline's own mask.
    public let fixedMask: MRIMask
    /// The closed-form solve's (a, b), to prepare it again for a frame's own mask.
    private var solveParameters: (a: Float, b: Float)?
    public let imageShape: [Int]
    public let imageType: SampleType
    public var measurementShape: [Int] { imageShape }
    public let measurementType = SampleType.complex64
    private let fft: FFTPlan
    private var solveWeights: [Float]

    public init(mask: MRIMask, imageType: SampleType = .float32) {
        self.mask = mask
        fixedMask = mask
        self.imageShape = [mask.height, mask.width]
        self.imageType = imageType
        fft = FFTPlan(dimensions: [mask.height, mask.width])
        solveWeights = [Float](repeating: 0, count: mask.height * mask.width)
    }

    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        let n = fft.count, b = fft.buffer
        if imageType == .float32 { fft.loadReal(x) } else { fft.loadComplex(x) }
        fft.forward()
        mask.values.withUnsafeBufferPointer { m in
            for i in 0..<n { y[2 * i] = m[i] * b[2 * i]; y[2 * i + 1] = m[i] * b[2 * i + 1] }
        }
    }

    public func adjoint(_ y: UnsafePointer<Float>, _ x: UnsafeMutablePointer<Float>) {
        let n = fft.count, b = fft.buffer
        mask.values.withUnsafeBufferPointer { m in
            for i in 0..<n { b[2 * i] = m[i] * y[2 * i]; b[2 * i + 1] = m[i] * y[2 * i + 1] }
        }
        fft.inverse()
        storeImage(x)
    }

    /// Samples this frame's phase-encode `rows` (operator layout, every column), or the
    /// pipeline's own mask for nil; a prepared closed-form solve follows the mask.
    public func sample(rows: Set<Int>?) {
        let next = rows.map { MRIMask(height: fixedMask.height, width: fixedMask.width, rows: $0) } ?? fixedMask
        guard next.values != mask.values else { return }
        mask = next
        if let (a, b) = solveParameters { _ = prepareNormalSolve(dataWeight: a, shift: b) }
    }

    public func prepareNormalSolve(dataWeight a: Float, shift b: Float) -> Bool {
        guard a > 0, b > 0 else { return false }
        solveParameters = (a, b)
        let source = imageType == .float32 ? mask.symmetrized : mask.values
        for i in 0..<solveWeights.count { solveWeights[i] = 1 / (a * source[i] + b) }
        return true
    }

    public func normalSolve(_ r: UnsafeMutablePointer<Float>) {
        let n = fft.count, b = fft.buffer
        if imageType == .float32 { fft.loadReal(UnsafePointer(r)) } else { fft.loadComplex(UnsafePointer(r)) }
        fft.forward()
        solveWeights.withUnsafeBufferPointer { w in
            for i in 0..<n { b[2 * i] *= w[i]; b[2 * i + 1] *= w[i] }
        }
        fft.inverse()
        storeImage(r)
    }

    /// How much of the data a real image cannot explain: ‖Im z‖²/‖z‖² for z = F⁻¹(M' ⊙ y),
    /// M' the locations sampled together with their mirror (M(k) = M(−k) = 1). On that
    /// symmetric set a real image's k-space is Hermitian, so z is real up to noise; an object
    /// with phase puts energy into Im z, which a real-image reconstruction discards.
    public func imaginaryEnergyFraction(_ y: UnsafePointer<Float>) -> Double {
        let n = fft.count, b = fft.buffer
        mask.symmetrized.withUnsafeBufferPointer { m in
            for i in 0..<n {
                let keep: Float = m[i] == 1 ? 1 : 0
                b[2 * i] = keep * y[2 * i]; b[2 * i + 1] = keep * y[2 * i + 1]
            }
        }
        fft.inverse()
        var re = 0.0, im = 0.0
        for i in 0..<n { re += Double(b[2 * i] * b[2 * i]); im += Double(b[2 * i + 1] * b[2 * i + 1]) }
        return re + im > 0 ? im / (re + im) : 0
    }

    /// Cross-validation units: the mask's sampled lines outside its centre, a real image's
    /// line paired with its mirror (``MRIMask/lineUnits(pairingMirrors:coils:)``).
    public var measurementUnits: MeasurementUnits {
        mask.lineUnits(pairingMirrors: imageType == .float32, coils: 1)
    }

    /// The same MRI operator on the mask M·K (it keeps the closed-form x-step).
    public func keeping(_ keep: [Float]) -> LinearOperator {
        precondition(keep.count == measurementCount)
        let values = (0..<mask.values.count).map { mask.values[$0] * keep[2 * $0] }
        return MRIOperator(mask: MRIMask(height: mask.height, width: mask.width, values: values), imageType: imageType)
    }

    private func storeImage(_ x: UnsafeMutablePointer<Float>) {
        let b = fft.buffer
        if imageType == .float32 {
            for i in 0..<fft.count { x[i] = b[2 * i] }
        } else {
            x.update(from: b, count: 2 * fft.count)
        }
    }
}

/// A k-space sampling mask (H×W, 0/1, unshifted layout), shared across threads.
public struct MRIMask: Sendable {
    public let height: Int, width: Int
    public let values: [Float]
    /// (M(k) + M(−k)) / 2: the Fourier multiplier of AᵀA for real images.
    public let symmetrized: [Float]

    public init(height: Int, width: Int, values: [Float]) {
        precondition(values.count == height * width)
        self.height = height
        self.width = width
        self.values = values
        var s = values
        for r in 0..<height {
            for c in 0..<width {
                let mr = (height - r) % height, mc = (width - c) % width
                s[r * width + c] = 0.5 * (values[r * width + c] + values[mr * width + mc])
            }
        }
        symmetrized = s
    }

    /// Full phase-encode `rows` (unshifted index; others ignored when out of range).
    public init(height: Int, width: Int, rows: Set<Int>) {
        var values = [Float](repeating: 0, count: height * width)
        for r in rows where r >= 0 && r < height { for c in 0..<width { values[r * width + c] = 1 } }
        self.init(height: height, width: width, values: values)
    }

    /// Fraction of k-space sampled.
    public var samplingRate: Double { Double(values.reduce(0, +)) / Double(values.count) }

    /// Sampled phase-encode lines (rows, unshifted index) of a line mask.
    public var lines: [Int] {
        (0..<height).filter { r in (0..<width).contains { values[r * width + $0] != 0 } }
    }

    /// Cross-validation units of a line mask (docs/MATH.md §6): the sampled phase-encode lines
    /// (rows) outside the fully sampled centre block (the run of sampled rows through DC), in
    /// every coil of a [coils, H, W] complex measurement; with no line outside the centre,
    /// every sampled line but DC's. `pairingMirrors` (a real image seen by one coil, whose
    /// k-space is Hermitian) makes a line and its mirror row one unit.
    ///
    /// Variable-density masks sample low frequencies more often, so the held-out lines are
    /// not like the unmeasured ones. Each unit is weighted (1 − π)/π, π the fraction of lines
    /// sampled among those outside the centre within ±H/16 of its |frequency| (one more line
    /// counted as unsampled): importance weights from the measured lines' density to the
    /// unmeasured lines'.
    public func lineUnits(pairingMirrors: Bool, coils: Int) -> MeasurementUnits {
        let h = height, w = width
        let sampled = Set(lines)
        var centre: Set<Int> = [0]
        var r = 1
        while r < h, sampled.contains(r) { centre.insert(r); r += 1 }
        r = h - 1
        while r > 0, sampled.contains(r) { centre.insert(r); r -= 1 }
        var candidates = sampled.subtracting(centre)
        if candidates.isEmpty { candidates = sampled.subtracting([0]) }
        let key = { (row: Int) in pairingMirrors ? min(row, (h - row) % h) : row }
        let keys = Array(Set(candidates.map(key))).sorted()
        let unitOfKey = Dictionary(uniqueKeysWithValues: keys.enumerated().map { ($0.element, Int32($0.offset)) })
        var units = [Int32](repeating: -1, count: 2 * coils * h * w)
        for row in candidates {
            let u = unitOfKey[key(row)]!
            for coil in 0..<coils {
                for c in 0..<w where values[row * w + c] != 0 {
                    let i = 2 * ((coil * h + row) * w + c)
                    units[i] = u
                    units[i + 1] = u
                }
            }
        }
        func frequency(_ row: Int) -> Int { abs(row < (h + 1) / 2 ? row : row - h) }
        let band = max(1, h / 16)
        let weights = keys.map { k -> Double in
            let f = frequency(k)
            let near = (0..<h).filter { !centre.contains($0) && abs(frequency($0) - f) <= band }
            let pi = Double(near.filter { sampled.contains($0) }.count) / Double(near.count + 1)
            return (1 - pi) / pi
        }
        return MeasurementUnits(unitOfFloat: units, count: keys.count, weights: weights)
    }

    /// Variable-density random phase-encode lines: round(H/R) rows in all, the central
    /// round(centerFraction·H) fully sampled, the rest drawn without replacement with
    /// probability ∝ (1 − |k|/(H/2))² (k the signed frequency), every column of a line sampled.
    public static func lines(height: Int, width: Int, acceleration: Double, centerFraction: Double,
                             seed: UInt64) -> MRIMask {
        let total = max(1, min(height, Int((Double(height) / acceleration).rounded())))
        let center = max(1, min(total, Int((centerFraction * Double(height)).rounded())))
        func frequency(_ r: Int) -> Int { r < (height + 1) / 2 ? r : r - height }
        // Central lines: the `center` rows with the smallest |k| (ties to positive k first).
        let byDistance = (0..<height).sorted { (abs(frequency($0)), -frequency($0)) < (abs(frequency($1)), -frequency($1)) }
        var chosen = Set(byDistance.prefix(center))
        var rng = SplitMix64(seed: seed)
        var candidates = (0..<height).filter { !chosen.contains($0) }
        var weights = candidates.map { r -> Double in
            let d = 1 - Double(abs(frequency(r))) / (Double(height) / 2)
            return max(d, 0.01) * max(d, 0.01)
        }
        while chosen.count < total && !candidates.isEmpty {
            let sum = weights.reduce(0, +)
            var t = rng.nextUnit() * sum
            var pick = candidates.count - 1
            for (i, w) in weights.enumerated() {
                t -= w
                if t < 0 { pick = i; break }
            }
            chosen.insert(candidates[pick])
            candidates.remove(at: pick)
            weights.remove(at: pick)
        }
        var values = [Float](repeating: 0, count: height * width)
        for r in chosen { for c in 0..<width { values[r * width + c] = 1 } }
        return MRIMask(height: height, width: width, values: values)
    }
}
