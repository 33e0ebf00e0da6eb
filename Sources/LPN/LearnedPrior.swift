import TensorIO

/// The regularizer φ that an LPN is the proximal operator of (spec §4).
///
/// φ(f(y)) = ⟨y, f(y)⟩ − ½‖f(y)‖² − ψ(y). To evaluate φ at a given x we first invert f: y
/// minimises the convex ψ(y) − ⟨x, y⟩ (gradient f(y) − x), found here with L-BFGS and a
/// backtracking line search from y₀ = x. The relative residual ‖f(y) − x‖ / ‖x‖ reports how
/// well x lies in the range of f; φ is evaluated at f(y), the point the inversion reached.
public struct PriorEvaluation: Sendable, Codable, Equatable {
    public var phi: Double
    public var residual: Double
    public var iterations: Int
    public var converged: Bool
}

public final class LearnedPrior {
    /// The frame prox whose potential is inverted (whole-frame: ψ_frame exists on any size).
    public let prox: LPNProx
    public var tolerance: Double
    public var maxIterations: Int
    private let memory = 8
    private var frame: WholeFrameProx?

    /// `padding` nil: the model's (``LPNConfiguration/framePadding``); `symmetry`: the prox's
    /// (``FrameSymmetry``; φ is then the symmetrised prior's); `threads`: the engine's.
    public init(model: LPNModel, padding: FramePadding? = nil, symmetry: FrameSymmetry = .identity,
                tolerance: Double = 1e-5, maxIterations: Int = 500, threads: Int = 1) throws {
        prox = try LPNProx(model: model, processing: .whole(padding: padding ?? model.configuration.framePadding,
                                                           symmetry: symmetry),
                           threads: threads)
        self.tolerance = tolerance
        self.maxIterations = maxIterations
    }

    /// φ for each image of a [H,W], [C,H,W] or [B,C,H,W] tensor (the φ of ψ_frame).
    public func evaluate(_ input: Tensor) throws -> [PriorEvaluation] {
        let (batch, c, h, w) = try prox.shape(of: input)
        try LPNProx.checkFinite(input)
        let count = c * h * w
        return try (0..<batch).map { b in
            try evaluate(Array(input.data[(b * count)..<((b + 1) * count)]), height: h, width: w)
        }
    }

    /// φ(x) for one C×H×W image.
    public func evaluate(_ x: [Float], height: Int, width: Int) throws -> PriorEvaluation {
        frame = try prox.wholeFrame(height: height, width: width)
        let count = x.count
        let xNorm = max(norm(x), 1e-12)
        var y = x
        var fy = [Float](repeating: 0, count: count)
        var psi = potentialAndProx(y, into: &fy)
        var grad = zip(fy, x).map { $0 - $1 }
        var objective = psi - dot(x, y)
        var steps: [[Float]] = [], changes: [[Float]] = [], rhos: [Double] = []
        var iterations = 0
        var converged = norm(grad) / xNorm <= tolerance
        var trialY = y, trialF = fy
        while !converged && iterations < maxIterations {
            iterations += 1
            // Two-loop recursion: direction = −H·grad.
            var q = grad.map(Double.init)
            var alphas = [Double](repeating: 0, count: steps.count)
            for i in stride(from: steps.count - 1, through: 0, by: -1) {
                alphas[i] = rhos[i] * dot(steps[i], q)
                for j in 0..<count { q[j] -= alphas[i] * Double(changes[i][j]) }
            }
            if let s = steps.last, let yv = changes.last {
                let scale = dot(s, yv) / max(dot(yv, yv), 1e-30)
                for j in 0..<count { q[j] *= scale }
            }
            for i in 0..<steps.count {
                let beta = rhos[i] * dot(changes[i], q)
                for j in 0..<count { q[j] += Double(steps[i][j]) * (alphas[i] - beta) }
            }
            var direction = q.map { Float(-$0) }
            var slope = dot(grad, direction)
            if !(slope < 0) {  // not a descent direction: restart from steepest descent
                direction = grad.map { -$0 }
                slope = dot(grad, direction)
                steps.removeAll(); changes.removeAll(); rhos.removeAll()
            }
            var t: Float = 1
            var accepted = false
            var trialPsi = 0.0, trialObjective = 0.0
            for _ in 0..<40 {
                for j in 0..<count { trialY[j] = y[j] + t * direction[j] }
                trialPsi = potentialAndProx(trialY, into: &trialF)
                trialObjective = trialPsi - dot(x, trialY)
                // Near the solution ψ's float32 rounding hides the decrease Armijo asks for;
                // a step that shrinks the gradient is then progress too.
                if trialObjective <= objective + 1e-4 * Double(t) * slope
                    || squaredNorm(trialF, minus: x) < squaredNorm(grad) {
                    accepted = true
                    break
                }
                t *= 0.5
            }
            guard accepted else { break }
            let newGrad = zip(trialF, x).map { $0 - $1 }
            let s = zip(trialY, y).map { $0 - $1 }
            let yv = zip(newGrad, grad).map { $0 - $1 }
            let sy = dot(s, yv)
            if sy > 1e-20 {
                steps.append(s); changes.append(yv); rhos.append(1 / sy)
                if steps.count > memory { steps.removeFirst(); changes.removeFirst(); rhos.removeFirst() }
            }
            swap(&y, &trialY); swap(&fy, &trialF)
            psi = trialPsi; objective = trialObjective; grad = newGrad
            converged = norm(grad) / xNorm <= tolerance
        }
        let phi = dot(y, fy) - 0.5 * dot(fy, fy) - psi
        return PriorEvaluation(phi: phi, residual: norm(grad) / xNorm, iterations: iterations, converged: converged)
    }

    private func potentialAndProx(_ y: [Float], into f: inout [Float]) -> Double {
        y.withUnsafeBufferPointer { yp in
            f.withUnsafeMutableBufferPointer { fp in frame!.evaluate(yp.baseAddress!, gradient: fp.baseAddress!) }
        }
    }

    private func dot(_ a: [Float], _ b: [Float]) -> Double {
        var s = 0.0
        for i in 0..<a.count { s += Double(a[i]) * Double(b[i]) }
        return s
    }

    private func dot(_ a: [Float], _ b: [Double]) -> Double {
        var s = 0.0
        for i in 0..<a.count { s += Double(a[i]) * b[i] }
        return s
    }

    private func norm(_ a: [Float]) -> Double { dot(a, a).squareRoot() }

    private func squaredNorm(_ a: [Float]) -> Double { dot(a, a) }

    private func squaredNorm(_ a: [Float], minus b: [Float]) -> Double {
        var s = 0.0
        for i in 0..<a.count { let d = Double(a[i] - b[i]); s += d * d }
        return s
    }
}
