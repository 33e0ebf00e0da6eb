/// The learned proximal operator on a whole frame of any size: one convex potential
///
///     ψ_frame(x) = s·ψ_net(R x) + α‖x‖²,   f(x) = ∇ψ_frame(x) = s·Rᵀ ∇ψ_net(R x) + 2αx
///
/// where R pads the H×W frame to H'×W' (``FramePadding``), ψ_net is the model's network
/// without α on the padded frame (its last layer sliding over P = P_r·P_c positions,
/// ``LPNEngine``) and s = P / (c_r·c_c) with c_r = min(N/8, P_r) (likewise c_c), the number of
/// window rows (columns) an interior pixel lies in. The mean over positions divides each
/// window's contribution by P, and an interior pixel collects c_r·c_c of them, so s restores
/// the strength of one window: f denoises at the model's training noise. On an N×N frame
/// without padding P = s = 1 and f is the model. f is exactly a proximal operator on every
/// frame: no seams, no blending of overlaps.
///
/// With a ``FrameSymmetry`` other than `none`, ψ and f are averaged over the frame's mirror
/// images (ψ_G = mean of ψ_frame ∘ P_g, f_G = mean of P_gᵀ f(P_g ·)): still one convex
/// potential and an exact prox, at |G| network evaluations.
///
/// Owns an engine for the padded size and its buffers (one per thread).
public final class WholeFrameProx {
    public let model: LPNModel
    public let height: Int, width: Int
    public let padding: FramePadding
    public let symmetry: FrameSymmetry
    public let engine: LPNEngine
    /// s: the factor on the network part.
    public let scale: Float
    private let rowMap: [Int32], columnMap: [Int32]
    private var paddedInput: [Float]
    private var paddedGradient: [Float]
    /// For each transform but the identity, the flat H×W source index of every output pixel;
    /// the transformed frame and its gradient (empty without symmetry).
    private let sources: [[Int32]]
    private var transformed: [Float], transformedGradient: [Float]

    /// `padding` nil: the model's (``LPNConfiguration/framePadding``); `threads`: the engine's.
    public init(model: LPNModel, height: Int, width: Int, padding: FramePadding? = nil,
                symmetry: FrameSymmetry = .identity, threads: Int = 1) throws {
        let padding = padding ?? model.configuration.framePadding
        let n = model.configuration.size
        guard height >= 1, width >= 1 else { throw LPNError.invalidInput("frame \(height)×\(width) is empty") }
        guard padding.accepts(length: height, modelSize: n), padding.accepts(length: width, modelSize: n) else {
            throw LPNError.invalidInput("frame \(height)×\(width) needs sides that are multiples of 8 and at least \(n) with padding none; use zero, reflect or circular")
        }
        self.model = model
        self.height = height
        self.width = width
        try symmetry.check(height: height, width: width)
        self.padding = padding
        self.symmetry = symmetry
        rowMap = padding.indexMap(length: height, modelSize: n)
        columnMap = padding.indexMap(length: width, modelSize: n)
        let paddedHeight = rowMap.count, paddedWidth = columnMap.count
        // Every mode but none extends a side by at least N − 8 plus the rounding: only a
        // degenerate model size could fall short here.
        guard paddedHeight >= n, paddedWidth >= n else {
            throw LPNError.invalidInput("frame \(height)×\(width) padded (\(padding.rawValue)) to \(paddedHeight)×\(paddedWidth) is smaller than the model's \(n)×\(n)")
        }
        // Zero margins are the same in every call: the engine computes what they feed once.
        let top = padding.amounts(length: height, modelSize: n).before
        let left = padding.amounts(length: width, modelSize: n).before
        let varying = padding == .zero ? MapRegion(rows: top..<(top + height), columns: left..<(left + width)) : nil
        engine = LPNEngine(model: model, height: paddedHeight, width: paddedWidth, threads: threads, varying: varying)
        let k = model.configuration.finalKernel
        let (pr, pc) = engine.positions
        scale = Float(pr * pc) / Float(min(k, pr) * min(k, pc))
        paddedInput = [Float](repeating: 0, count: engine.imageCount)
        paddedGradient = paddedInput
        sources = symmetry.transforms.dropFirst().map { g in
            (0..<(height * width)).map { Int32(g.source($0 / width, $0 % width, height: height, width: width)) }
        }
        let frameCount = symmetry == .identity ? 0 : model.configuration.inChannels * height * width
        transformed = [Float](repeating: 0, count: frameCount)
        transformedGradient = transformed
    }

    /// Values in one frame: C·H·W.
    public var imageCount: Int { model.configuration.inChannels * height * width }

    /// ψ_frame(x) (ψ_G with a symmetry); when `gradient` is given, also writes f(x) there.
    /// No allocation.
    @discardableResult
    public func evaluate(_ x: UnsafePointer<Float>, gradient: UnsafeMutablePointer<Float>? = nil) -> Double {
        if sources.isEmpty { return evaluateOnce(x, gradient: gradient) }
        // The identity, then each P_g: ψ(P_g x) and P_gᵀ f(P_g x), summed and divided by |G|.
        var potential = evaluateOnce(x, gradient: gradient)
        let pixels = height * width, channels = model.configuration.inChannels
        for map in sources {
            transformed.withUnsafeMutableBufferPointer { t in
                transformedGradient.withUnsafeMutableBufferPointer { tg in
                    map.withUnsafeBufferPointer { src in
                        for ch in 0..<channels {
                            let from = x + ch * pixels, to = t.baseAddress! + ch * pixels
                            for i in 0..<pixels { to[i] = from[Int(src[i])] }
                        }
                        potential += evaluateOnce(t.baseAddress!, gradient: gradient == nil ? nil : tg.baseAddress!)
                        guard let gradient else { return }
                        for ch in 0..<channels {
                            let from = tg.baseAddress! + ch * pixels, to = gradient + ch * pixels
                            for i in 0..<pixels { to[Int(src[i])] += from[i] }
                        }
                    }
                }
            }
        }
        let share = 1 / Float(sources.count + 1)
        if let gradient {
            for i in 0..<imageCount { gradient[i] *= share }
        }
        return potential * Double(share)
    }

    /// ψ_frame(x) and f(x) of the model itself, without the symmetry: what the prior's
    /// calibration measured (``PriorStatistics``). No allocation.
    @discardableResult
    public func evaluateModel(_ x: UnsafePointer<Float>, gradient: UnsafeMutablePointer<Float>? = nil) -> Double {
        evaluateOnce(x, gradient: gradient)
    }

    /// ψ_frame(x) and f(x) for the frame as it is.
    private func evaluateOnce(_ x: UnsafePointer<Float>, gradient: UnsafeMutablePointer<Float>?) -> Double {
        let c = model.configuration.inChannels
        let paddedHeight = rowMap.count, paddedWidth = columnMap.count
        let (h, w) = (height, width)
        return paddedInput.withUnsafeMutableBufferPointer { padded in
            paddedGradient.withUnsafeMutableBufferPointer { paddedGrad in
                rowMap.withUnsafeBufferPointer { rows in
                    columnMap.withUnsafeBufferPointer { cols in
                        let p = padded.baseAddress!
                        for ch in 0..<c {
                            let src = x + ch * h * w, dst = p + ch * paddedHeight * paddedWidth
                            for i in 0..<paddedHeight {
                                let r = Int(rows[i]), row = dst + i * paddedWidth
                                guard r >= 0 else { row.update(repeating: 0, count: paddedWidth); continue }
                                let line = src + r * w
                                for j in 0..<paddedWidth {
                                    let q = Int(cols[j])
                                    row[j] = q >= 0 ? line[q] : 0
                                }
                            }
                        }
                        let network = Double(engine.evaluate(p, gradient: gradient == nil ? nil : paddedGrad.baseAddress!,
                                                              scale: scale, quadratic: false))
                        var squaredNorm = 0.0
                        for i in 0..<imageCount { squaredNorm += Double(x[i]) * Double(x[i]) }
                        let alpha = model.configuration.alpha
                        if let gradient {
                            // f = Rᵀ g' + 2αx: every padded pixel adds its gradient to its source.
                            for i in 0..<imageCount { gradient[i] = 2 * alpha * x[i] }
                            let g = paddedGrad.baseAddress!
                            for ch in 0..<c {
                                let dst = gradient + ch * h * w, src = g + ch * paddedHeight * paddedWidth
                                for i in 0..<paddedHeight {
                                    let r = Int(rows[i])
                                    guard r >= 0 else { continue }
                                    let line = dst + r * w, row = src + i * paddedWidth
                                    for j in 0..<paddedWidth {
                                        let q = Int(cols[j])
                                        if q >= 0 { line[q] += row[j] }
                                    }
                                }
                            }
                        }
                        return network + Double(alpha) * squaredNorm
                    }
                }
            }
        }
    }
}
