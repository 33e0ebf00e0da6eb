import Foundation
import TensorIO

/// A dynamic test sequence, as real-time imaging produces one: the same object frame after
/// frame, moving and deforming a little, sampled with a pattern that changes per frame.
///
/// Frame t of a base image B (H×W, values in [0, 1]):
///
///     x_t(p) = B(R(θ_t)(p − c) + c − d_t) + h_t(p)
///
/// a rigid motion — rotation by θ_t = θ_max·sin(2πt/T_r) about the centre c and translation
/// d_t = (d_max·sin(2πt/T_d), d_max·cos(2πt/T_d)) pixels, by bilinear interpolation (zero
/// outside) — plus a *beating* structure h_t: a soft-edged disc at a fixed place inside the
/// object whose radius swings by ±30 % with period T_b (a heart, a vessel), clipped to [0, 1].
/// With the defaults (θ_max 3°, d_max 2 px, T_r 40, T_d 30, T_b 12 frames) consecutive frames
/// differ by about what a cardiac or respiratory series at 10–20 frames/s shows.
///
/// The sampling pattern (docs/PROTOCOL.md §1, `lines`) of frame t, for R-fold acceleration of
/// H phase-encode lines with a fully sampled centre of C lines:
///
/// - `fixed`: the pipeline's own mask every frame (no `lines` in the header);
/// - `interleaved`: the centre, and the outer lines r with (r − t) mod R = 0 — R frames
///   together sample every line once (as interleaved real-time protocols do);
/// - `golden`: the centre, and the next ⌈H/R⌉ − C lines of the golden-ratio sequence
///   ⌊frac(j·φ⁻¹)·H⌋ not in the centre (j counting on across frames): any run of frames covers
///   k-space nearly uniformly, whatever its length.
public struct DynamicSequence: Sendable {
    public enum Sampling: String, Sendable, CaseIterable {
        case fixed, interleaved, golden
    }

    public var base: Tensor
    public var sampling: Sampling
    public var maxRotationDegrees = 3.0
    public var maxShiftPixels = 2.0
    public var rotationPeriod = 40.0, shiftPeriod = 30.0, beatPeriod = 12.0

    public init(base: Tensor, sampling: Sampling) {
        precondition(base.shape.count == 2, "a sequence moves one H×W image")
        self.base = base
        self.sampling = sampling
    }

    /// Image of frame t.
    public func image(_ t: Int) -> Tensor {
        let h = base.shape[0], w = base.shape[1]
        let theta = maxRotationDegrees * .pi / 180 * sin(2 * .pi * Double(t) / rotationPeriod)
        let dx = maxShiftPixels * sin(2 * .pi * Double(t) / shiftPeriod)
        let dy = maxShiftPixels * cos(2 * .pi * Double(t) / shiftPeriod)
        let (c, s) = (cos(theta), sin(theta))
        let cy = Double(h - 1) / 2, cx = Double(w - 1) / 2
        // The beating disc: centred at (0.55, 0.4) of the frame, radius 8 % of the side ± 30 %.
        let by = 0.55 * Double(h), bx = 0.40 * Double(w)
        let radius = 0.08 * Double(min(h, w)) * (1 + 0.3 * sin(2 * .pi * Double(t) / beatPeriod))
        var out = [Float](repeating: 0, count: h * w)
        base.data.withUnsafeBufferPointer { b in
            for i in 0..<h {
                for j in 0..<w {
                    // Source point: the inverse motion of (i, j).
                    let y = Double(i) - cy - dy, x = Double(j) - cx - dx
                    let sy = c * y - s * x + cy, sx = s * y + c * x + cx
                    let y0 = Int(sy.rounded(.down)), x0 = Int(sx.rounded(.down))
                    let fy = sy - Double(y0), fx = sx - Double(x0)
                    // Bilinear, zero outside the frame.
                    func at(_ yy: Int, _ xx: Int) -> Double {
                        yy >= 0 && yy < h && xx >= 0 && xx < w ? Double(b[yy * w + xx]) : 0
                    }
                    var v = (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1))
                        + fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1))
                    let r = ((Double(i) - by) * (Double(i) - by) + (Double(j) - bx) * (Double(j) - bx)).squareRoot()
                    v += 0.35 / (1 + exp((r - radius) / 0.7))
                    out[i * w + j] = Float(min(max(v, 0), 1))
                }
            }
        }
        return Tensor(shape: [h, w], data: out)
    }

    /// Phase-encode lines of frame t (centred layout: DC at row H/2), or nil for `fixed`.
    public static func lines(_ t: Int, sampling: Sampling, height h: Int, acceleration: Double, centerFraction: Double) -> [Int]? {
        let total = max(1, Int((Double(h) / acceleration).rounded()))
        let centre = min(total, Int((centerFraction * Double(h)).rounded()))
        let lo = h / 2 - centre / 2
        let centreRows = Set(lo..<(lo + centre))
        switch sampling {
        case .fixed:
            return nil
        case .interleaved:
            let r = max(1, Int(acceleration.rounded()))
            return (0..<h).filter { centreRows.contains($0) || (($0 - t) % r + r) % r == 0 }
        case .golden:
            let outer = total - centre
            var rows = centreRows
            var j = t * outer  // each frame takes the next `outer` new lines of the sequence
            let inverseGolden = (5.0.squareRoot() - 1) / 2
            var added = 0, guardCount = 0
            while added < outer && guardCount < 8 * h {
                let row = Int((Double(j) * inverseGolden).truncatingRemainder(dividingBy: 1) * Double(h))
                j += 1
                guardCount += 1
                if rows.insert(row).inserted { added += 1 }
            }
            return rows.sorted()
        }
    }
}
