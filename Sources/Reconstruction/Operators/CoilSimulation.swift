import Foundation
import TensorIO
import Support

/// How `lpnd simulate` makes multi-coil k-space without a scanner (docs/MATH.md §7):
///
///     image      x·exp(iθ), θ a smooth object phase of peak `phase` radians:
///                θ = phase·(u·cos a + v·sin a + (u² + v²) − 1)/2 over u, v ∈ [−1, 1], a seeded
///     coils      y_c = M ⊙ F(S_c ⊙ x e^{iθ}), S = ``CoilMaps/simulated(coils:height:width:seed:)``
///     noise      n = σ·L z on every sampled location, z ~ N(0, I) on re and im, L Lᵀ = Ψ with
///                Ψ_jk = correlation^d(j, k), d the distance of coils j, k on the ring
///
/// The maps are the same for every frame of a pipeline (`mapSeed`), as a coil array's are; the
/// phase angle and the noise follow the frame's seed.
public struct CoilSimulation: Sendable, Equatable {
    /// Correlation of the noise of neighbouring coils (0 ≤ correlation < 1).
    public var correlation = 0.2
    /// Peak object phase, radians (0: a real object).
    public var phase = 1.0
    public var mapSeed: UInt64 = 0

    public init(correlation: Double = 0.2, phase: Double = 1.0, mapSeed: UInt64 = 0) {
        self.correlation = correlation
        self.phase = phase
        self.mapSeed = mapSeed
    }

    /// The true maps the simulation uses.
    public func maps(coils: Int, height: Int, width: Int) -> CoilMaps {
        .simulated(coils: coils, height: height, width: width, seed: mapSeed)
    }

    /// Noise covariance Ψ (C×C, row-major).
    public func covariance(coils: Int) -> [Double] {
        var psi = [Double](repeating: 0, count: coils * coils)
        for j in 0..<coils {
            for k in 0..<coils {
                let d = min(abs(j - k), coils - abs(j - k))
                psi[j * coils + k] = pow(correlation, Double(d))
            }
        }
        return psi
    }

    /// Unshifted multi-coil k-space [C, H, W] of `image` (real [H, W] or complex [H, W, 2]).
    func simulate(image: [Float], imageType: SampleType, spec: MultiCoilSpec, noise: Float, seed: UInt64) -> [Float] {
        let h = spec.mask.height, w = spec.mask.width, n = h * w, c = spec.coils
        var rng = SplitMix64(seed: seed)
        var x: [Float]
        if imageType == .complex64 {
            x = image
        } else {
            let a = rng.nextUnit() * 2 * Double.pi
            x = [Float](repeating: 0, count: 2 * n)
            for r in 0..<h {
                let v = 2 * (Double(r) + 0.5) / Double(h) - 1
                for col in 0..<w {
                    let u = 2 * (Double(col) + 0.5) / Double(w) - 1
                    let theta = phase * (u * cos(a) + v * sin(a) + u * u + v * v - 1) / 2
                    let m = Double(image[r * w + col])
                    x[2 * (r * w + col)] = Float(m * cos(theta)); x[2 * (r * w + col) + 1] = Float(m * sin(theta))
                }
            }
        }
        let op = MultiCoilMRIOperator(coils: c, mask: spec.mask, source: .given(maps(coils: c, height: h, width: w)),
                                      imageType: .complex64)
        var y = op.forward(x)
        guard noise > 0 else { return y }
        let l = Self.cholesky(covariance(coils: c), c)
        var z = [Double](repeating: 0, count: 2 * c)
        for i in 0..<n where spec.mask.values[i] != 0 {
            for k in 0..<(2 * c) { z[k] = rng.nextGaussian() }
            for j in 0..<c {
                var re = 0.0, im = 0.0
                for k in 0...j { re += l[j * c + k] * z[2 * k]; im += l[j * c + k] * z[2 * k + 1] }
                y[2 * (j * n + i)] += noise * Float(re); y[2 * (j * n + i) + 1] += noise * Float(im)
            }
        }
        return y
    }

    /// Lower-triangular L with L Lᵀ = a (a symmetric positive definite, k×k).
    static func cholesky(_ a: [Double], _ k: Int) -> [Double] {
        var l = [Double](repeating: 0, count: k * k)
        for j in 0..<k {
            var d = a[j * k + j]
            for m in 0..<j { d -= l[j * k + m] * l[j * k + m] }
            l[j * k + j] = d.squareRoot()
            for i in (j + 1)..<max(j + 1, k) {
                var s = a[i * k + j]
                for m in 0..<j { s -= l[i * k + m] * l[j * k + m] }
                l[i * k + j] = s / l[j * k + j]
            }
        }
        return l
    }
}
