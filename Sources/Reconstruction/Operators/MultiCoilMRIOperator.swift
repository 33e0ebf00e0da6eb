import Foundation
import LPN
import TensorIO

/// Multi-coil Cartesian MRI, the SENSE model: y_c = M ⊙ F(S_c ⊙ x) for coils c = 1…C, with F
/// the orthonormal 2-D FFT (unshifted), M a 0/1 mask and S the coil maps (``CoilMaps``,
/// Σ_c|S_c|² = 1). Measurements [C, H, W] complex64, zero where not sampled.
///
///     Aᴴy = Σ_c S_c* ⊙ F⁻¹(M ⊙ y_c)          (Re(·) for a real image)
///     AᴴA = Σ_c S_c* F⁻¹ M F S_c              (= I under full sampling: no closed form with
///                                              a mask, so the ADMM x-step runs CG)
///
/// Per frame (``calibrate(kspace:sampledRows:)``) the operator takes the frame's sampled rows
/// as its mask (streams whose pattern varies, e.g. MRD), estimates the maps from the frame's
/// calibration block (``CoilMapEstimator``) or phase-references given maps, and scales the
/// k-space so the low-resolution image peaks at 1 when `normalize` is set (docs/MATH.md §7).
public final class MultiCoilMRIOperator: LinearOperator {
    /// Where the maps come from.
    public enum MapSource: Sendable {
        /// Estimated from each frame's own calibration block.
        case estimate
        /// Given (pipeline file), phase-referenced per frame for a real image.
        case given(CoilMaps)
    }

    public let coils: Int
    public let imageShape: [Int]
    public let imageType: SampleType
    public var measurementShape: [Int] { [coils] + imageShape }
    public let measurementType = SampleType.complex64
    public private(set) var mask: MRIMask
    public private(set) var maps: CoilMaps
    public let source: MapSource
    public let normalize: Bool
    /// Threads one application may use: the coils are shared out (the frame's threads).
    public let threads: Int
    /// One FFT plan per part (a part is a contiguous group of coils), and the threads that run
    /// the parts at once.
    private let plans: [FFTPlan]
    private let pool: WorkerPool
    /// The adjoint's per-coil images F⁻¹(M ⊙ y_c), [C, H, W] complex.
    private let coilImages: UnsafeMutablePointer<Float>
    private lazy var estimator = CoilMapEstimator(coils: coils, height: imageShape[0], width: imageShape[1])

    /// `threads` > 1 shares the coils' FFTs out over that many threads; results are
    /// bit-identical for any count (the adjoint sums the coils in order at every pixel).
    public init(coils: Int, mask: MRIMask, source: MapSource, normalize: Bool = false, imageType: SampleType = .float32,
                threads: Int = 1) {
        self.coils = coils
        self.mask = mask
        self.source = source
        self.normalize = normalize
        self.imageType = imageType
        imageShape = [mask.height, mask.width]
        switch source {
        case .estimate: maps = .uniform(coils: coils, height: mask.height, width: mask.width)
        case .given(let m): maps = m
        }
        self.threads = max(1, threads)
        plans = (0..<min(self.threads, coils)).map { _ in FFTPlan(dimensions: [mask.height, mask.width]) }
        pool = WorkerPool(threads: plans.count)
        coilImages = .allocate(capacity: 2 * coils * mask.height * mask.width)
        coilImages.initialize(repeating: 0, count: 2 * coils * mask.height * mask.width)
    }

    deinit { coilImages.deallocate() }

    /// The coils of part `part` of `plans.count`.
    private func coilRange(_ part: Int) -> Range<Int> {
        (coils * part / plans.count)..<(coils * (part + 1) / plans.count)
    }

    /// The mask (M per pixel) and the maps (interleaved) as raw pointers, for one application.
    private func withMaskAndMaps(_ body: (UnsafePointer<Float>, UnsafePointer<Float>) -> Void) {
        mask.values.withUnsafeBufferPointer { m in
            maps.values.withUnsafeBufferPointer { s in body(m.baseAddress!, s.baseAddress!) }
        }
    }

    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        let n = imageShape[0] * imageShape[1], complex = imageType == .complex64
        withMaskAndMaps { m, s in
            pool.run(plans.count) { part in
                let plan = plans[part], b = plan.buffer
                for c in coilRange(part) {
                    let sc = s + 2 * c * n
                    for i in 0..<n {
                        let xr = x[complex ? 2 * i : i], xi: Float = complex ? x[2 * i + 1] : 0
                        b[2 * i] = sc[2 * i] * xr - sc[2 * i + 1] * xi
                        b[2 * i + 1] = sc[2 * i] * xi + sc[2 * i + 1] * xr
                    }
                    plan.forward()
                    let yc = y + 2 * c * n
                    for i in 0..<n { yc[2 * i] = m[i] * b[2 * i]; yc[2 * i + 1] = m[i] * b[2 * i + 1] }
                }
            }
        }
    }

    public func adjoint(_ y: UnsafePointer<Float>, _ x: UnsafeMutablePointer<Float>) {
        let n = imageShape[0] * imageShape[1], complex = imageType == .complex64, images = coilImages
        withMaskAndMaps { m, s in
            // Each coil's image F⁻¹(M ⊙ y_c), coils shared out over the parts.
            pool.run(plans.count) { part in
                let plan = plans[part], b = plan.buffer
                for c in coilRange(part) {
                    let yc = y + 2 * c * n
                    for i in 0..<n { b[2 * i] = m[i] * yc[2 * i]; b[2 * i + 1] = m[i] * yc[2 * i + 1] }
                    plan.inverse()
                    (images + 2 * c * n).update(from: b, count: 2 * n)
                }
            }
            // x = Σ_c conj(S_c) ⊙ image_c, coils summed in order at every pixel; pixels shared out.
            pool.run(plans.count) { part in
                for i in (n * part / plans.count)..<(n * (part + 1) / plans.count) {
                    let (re, im) = CoilMaps.combine(maps: s, images, coils: coils, pixels: n, at: i)
                    if complex { x[2 * i] = re; x[2 * i + 1] = im } else { x[i] = re }
                }
            }
        }
    }

    /// Cross-validation units: the current mask's sampled lines outside its centre, each in
    /// every coil (``MRIMask/lineUnits(pairingMirrors:coils:)``; no mirror pairs: a coil
    /// image carries its map's phase, so its k-space is not Hermitian).
    public var measurementUnits: MeasurementUnits { mask.lineUnits(pairingMirrors: false, coils: coils) }

    /// Prepares the operator for one frame of unshifted k-space `y` [C, H, W] and returns the
    /// intensity scale s the k-space was divided by (1 without `normalize`):
    /// 1. mask := the frame's sampled rows (when given; else the pipeline's mask stays);
    /// 2. maps := estimated from the calibration block, or the given maps phase-referenced to
    ///    the frame's low-resolution image (real images);
    /// 3. y := y / s, s = the peak of the low-resolution image |Sᴴℓ| (when `normalize`).
    /// Throws ``ReconstructionError/invalidArgument(_:)`` when the frame has too few central rows.
    public func calibrate(kspace y: UnsafeMutablePointer<Float>, sampledRows: Set<Int>?) throws -> Double {
        let h = imageShape[0], w = imageShape[1], n = h * w
        if let sampledRows { mask = MRIMask(height: h, width: w, rows: sampledRows) }
        let rows = sampledRows ?? Set(mask.lines)
        let needsCalibration: Bool
        switch source {
        case .estimate: needsCalibration = true
        case .given: needsCalibration = imageType == .float32 || normalize
        }
        guard needsCalibration else { return 1 }
        let (estimated, lowRes) = try estimator.estimate(kspace: UnsafePointer(y), sampledRows: rows)
        switch source {
        case .estimate: maps = estimated
        case .given(let given):
            maps = given
            if imageType == .float32 { maps = given.phaseReferenced(to: lowRes) }
        }
        guard normalize else { return 1 }
        var peak: Float = 0
        withMaskAndMaps { _, s in
            lowRes.withUnsafeBufferPointer { l in
                for p in 0..<n {
                    let (re, im) = CoilMaps.combine(maps: s, l.baseAddress!, coils: coils, pixels: n, at: p)
                    peak = max(peak, (re * re + im * im).squareRoot())
                }
            }
        }
        guard peak > 0 else { return 1 }
        for i in 0..<(2 * coils * n) { y[i] /= peak }
        return Double(peak)
    }
}
