import Foundation
import TensorIO
import Support

/// Coil sensitivity maps S: [C, H, W] complex, interleaved (re, im). lpnd's maps are
/// normalised so that Σ_c |S_c(r)|² = 1 at every pixel (where a map is known), which makes
/// the SENSE operator's normal matrix the identity under full sampling (docs/MATH.md §7).
public struct CoilMaps: Sendable, Equatable {
    public let coils: Int, height: Int, width: Int
    public var values: [Float]

    public init(coils: Int, height: Int, width: Int, values: [Float]) {
        precondition(values.count == 2 * coils * height * width)
        self.coils = coils
        self.height = height
        self.width = width
        self.values = values
    }

    /// Every coil equally sensitive everywhere (1/√C): the operator before calibration.
    public static func uniform(coils: Int, height: Int, width: Int) -> CoilMaps {
        let v = 1 / Float(coils).squareRoot()
        var values = [Float](repeating: 0, count: 2 * coils * height * width)
        for i in stride(from: 0, to: values.count, by: 2) { values[i] = v }
        return CoilMaps(coils: coils, height: height, width: width, values: values)
    }

    /// Divides every pixel's coil vector by its norm (pixels whose norm is below `floor` keep
    /// the uniform 1/√C vector).
    public mutating func normalize(floor: Float = 1e-12) {
        let n = height * width, c = coils
        values.withUnsafeMutableBufferPointer { s in
            for i in 0..<n {
                var sum: Float = 0
                for k in 0..<c { sum += s[2 * (k * n + i)] * s[2 * (k * n + i)] + s[2 * (k * n + i) + 1] * s[2 * (k * n + i) + 1] }
                let norm = sum.squareRoot()
                for k in 0..<c {
                    if norm > floor {
                        s[2 * (k * n + i)] /= norm; s[2 * (k * n + i) + 1] /= norm
                    } else {
                        s[2 * (k * n + i)] = 1 / Float(c).squareRoot(); s[2 * (k * n + i) + 1] = 0
                    }
                }
            }
        }
    }

    /// (Sᴴv)(p) = Σ_c conj(S_c(p))·v_c(p): coil images v [C, H, W] (interleaved complex)
    /// combined at pixel p with maps s (same layout), the coils added in order.
    @inline(__always)
    static func combine(maps s: UnsafePointer<Float>, _ v: UnsafePointer<Float>, coils: Int, pixels n: Int,
                        at p: Int) -> (re: Float, im: Float) {
        var re: Float = 0, im: Float = 0
        for c in 0..<coils {
            let sr = s[2 * (c * n + p)], si = s[2 * (c * n + p) + 1]
            let vr = v[2 * (c * n + p)], vi = v[2 * (c * n + p) + 1]
            re += sr * vr + si * vi
            im += sr * vi - si * vr
        }
        return (re, im)
    }

    /// The maps multiplied per pixel by the phase of Sᴴℓ, ℓ the low-resolution coil images
    /// [C, H, W]: the image they define, Sᴴ(coil images), is then real and non-negative
    /// where the object's phase is smooth (docs/MATH.md §7).
    public func phaseReferenced(to l: [Float]) -> CoilMaps {
        var out = self
        let n = height * width
        values.withUnsafeBufferPointer { sb in
            l.withUnsafeBufferPointer { lb in
                let s = sb.baseAddress!
                for p in 0..<n {
                    let (re, im) = Self.combine(maps: s, lb.baseAddress!, coils: coils, pixels: n, at: p)
                    let m = (re * re + im * im).squareRoot()
                    guard m > 0 else { continue }
                    let cr = re / m, ci = im / m
                    for c in 0..<coils {
                        let sr = s[2 * (c * n + p)], si = s[2 * (c * n + p) + 1]
                        out.values[2 * (c * n + p)] = sr * cr - si * ci
                        out.values[2 * (c * n + p) + 1] = sr * ci + si * cr
                    }
                }
            }
        }
        return out
    }

    /// Synthetic maps of `coils` receive coils evenly spaced on a ring around the field of view
    /// (docs/MATH.md §7): coil c at angle 2πc/C + a seeded offset, radius 1.4 in units of the
    /// half field of view, magnitude exp(−d²/(2·0.9²)) with d the distance to the coil, and a
    /// smooth phase that rises by up to π/2 across the image (a linear ramp in a seeded
    /// direction plus a coil offset); normalised to Σ|S_c|² = 1.
    public static func simulated(coils: Int, height: Int, width: Int, seed: UInt64) -> CoilMaps {
        var rng = SplitMix64(seed: seed ^ 0xC011_5EED)
        let offset = rng.nextUnit() * 2 * Double.pi
        var values = [Float](repeating: 0, count: 2 * coils * height * width)
        for c in 0..<coils {
            let angle = offset + 2 * Double.pi * Double(c) / Double(coils)
            let px = 1.4 * cos(angle), py = 1.4 * sin(angle)
            let phase0 = rng.nextUnit() * 2 * Double.pi
            let direction = rng.nextUnit() * 2 * Double.pi
            for r in 0..<height {
                let y = 2 * (Double(r) + 0.5) / Double(height) - 1
                for col in 0..<width {
                    let x = 2 * (Double(col) + 0.5) / Double(width) - 1
                    let d2 = (x - px) * (x - px) + (y - py) * (y - py)
                    let magnitude = exp(-d2 / (2 * 0.81))
                    let phase = phase0 + Double.pi / 4 * (x * cos(direction) + y * sin(direction))
                    let i = 2 * ((c * height + r) * width + col)
                    values[i] = Float(magnitude * cos(phase)); values[i + 1] = Float(magnitude * sin(phase))
                }
            }
        }
        var maps = CoilMaps(coils: coils, height: height, width: width, values: values)
        maps.normalize()
        return maps
    }

    /// Loads maps from a complex .npy file of shape [C, H, W] and normalises them.
    public static func read(path: String, coils: Int, height: Int, width: Int) throws -> CoilMaps {
        let array = try NPY.readArray(path: path)
        guard array.isComplex else {
            throw ReconstructionError.invalidFile(path: path, reason: "coil maps must be complex (complex64 '<c8' or complex128 '<c16'), got \(array.descr)")
        }
        guard array.shape == [coils, height, width] else {
            throw ReconstructionError.invalidFile(path: path, reason: "coil maps have shape \(array.shape), expected [\(coils), \(height), \(width)] (coils, height, width)")
        }
        if let i = array.values.firstIndex(where: { !$0.isFinite }) {
            throw ReconstructionError.invalidFile(path: path, reason: "non-finite value at flat float index \(i)")
        }
        var maps = CoilMaps(coils: coils, height: height, width: width, values: array.values)
        maps.normalize()
        return maps
    }
}
