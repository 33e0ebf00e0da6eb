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
/// potential and an exact prox, at |G| network evaluations. Those are independent: with
/// `threads` > 1 they run on L = min(threads, |G|) lanes at once, each lane an engine of
/// ⌊threads / L⌋ threads with its own buffers, and every P_gᵀ f(P_g x) lands in its own slot,
/// summed in the order of g afterwards, so the result does not depend on L.
///
/// Owns an engine for the padded size per lane, and their buffers.
public final class WholeFrameProx {
    public let model: LPNModel
    public let height: Int, width: Int
    public let padding: FramePadding
    public let symmetry: FrameSymmetry
    /// The first lane's engine (the only one without symmetry or with one thread).
    public var engine: LPNEngine { lanes[0].engine }
    /// s: the factor on the network part.
    public let scale: Float
    private let rowMap: [Int32], columnMap: [Int32]
    /// For each transform but the identity, the flat H×W source index of every output pixel
    /// (empty without symmetry).
    private let sources: [[Int32]]
    /// The lanes the group's evaluations are shared out to (one without symmetry), and the
    /// threads that run them at once.
    private let lanes: [Lane]
    private let lanePool: WorkerPool
    /// With symmetry: P_gᵀ f(P_g x) of every g but the identity, C·H·W values each, and ψ(P_g x).
    private let parts: UnsafeMutablePointer<Float>
    private var potentials: [Double]

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
        let group = symmetry.transforms.count
        let laneCount = max(1, min(threads, group))
        let frameCount = symmetry == .identity ? 0 : model.configuration.inChannels * height * width
        lanes = (0..<laneCount).map { _ in
            Lane(engine: LPNEngine(model: model, height: paddedHeight, width: paddedWidth,
                                   threads: max(1, threads / laneCount), varying: varying),
                 frameCount: frameCount)
        }
        lanePool = WorkerPool(threads: laneCount)
        let k = model.configuration.finalKernel
        let (pr, pc) = lanes[0].engine.positions
        scale = Float(pr * pc) / Float(min(k, pr) * min(k, pc))
        sources = symmetry.transforms.dropFirst().map { g in
            (0..<(height * width)).map { Int32(g.source($0 / width, $0 % width, height: height, width: width)) }
        }
        let partCount = (group - 1) * frameCount
        parts = zeroedFloats(partCount)
        potentials = [Double](repeating: 0, count: group)
    }

    deinit { parts.deallocate() }

    /// The number of lanes the group's evaluations run on.
    public var laneCount: Int { lanes.count }

    /// Values in one frame: C·H·W.
    public var imageCount: Int { model.configuration.inChannels * height * width }

    /// ψ_frame(x) (ψ_G with a symmetry); when `gradient` is given, also writes f(x) there.
    /// No allocation.
    @discardableResult
    public func evaluate(_ x: UnsafePointer<Float>, gradient: UnsafeMutablePointer<Float>? = nil) -> Double {
        if sources.isEmpty { return evaluateOnce(x, gradient: gradient, lane: lanes[0]) }
        // The identity into `gradient`, each other P_g into its slot: ψ(P_g x) and P_gᵀ f(P_g x);
        // lane l takes g = l, l + L, …
        let count = imageCount, pixels = height * width, channels = model.configuration.inChannels
        let group = sources.count + 1
        potentials.withUnsafeMutableBufferPointer { potential in
            lanePool.run(lanes.count) { l in
                let lane = lanes[l]
                for g in stride(from: l, to: group, by: lanes.count) {
                    guard g > 0 else {
                        potential[0] = evaluateOnce(x, gradient: gradient, lane: lane)
                        continue
                    }
                    let src = sources[g - 1], t = lane.transformed, part = parts + (g - 1) * count
                    for ch in 0..<channels {
                        let from = x + ch * pixels, to = t + ch * pixels
                        for i in 0..<pixels { to[i] = from[Int(src[i])] }
                    }
                    potential[g] = evaluateOnce(t, gradient: gradient == nil ? nil : lane.transformedGradient, lane: lane)
                    guard gradient != nil else { continue }
                    for ch in 0..<channels {
                        let from = lane.transformedGradient + ch * pixels, to = part + ch * pixels
                        for i in 0..<pixels { to[Int(src[i])] = from[i] }
                    }
                }
            }
        }
        let share = 1 / Float(group)
        if let gradient {
            for g in 1..<group {
                let part = parts + (g - 1) * count
                for i in 0..<count { gradient[i] += part[i] }
            }
            for i in 0..<count { gradient[i] *= share }
        }
        return potentials.reduce(0, +) * Double(share)
    }

    /// ψ_frame(x) and f(x) of the model itself, without the symmetry: what the prior's
    /// calibration measured (``PriorStatistics``). No allocation.
    @discardableResult
    public func evaluateModel(_ x: UnsafePointer<Float>, gradient: UnsafeMutablePointer<Float>? = nil) -> Double {
        evaluateOnce(x, gradient: gradient, lane: lanes[0])
    }

    /// ψ_frame(x) and f(x) for the frame as it is, on `lane`'s engine and buffers.
    private func evaluateOnce(_ x: UnsafePointer<Float>, gradient: UnsafeMutablePointer<Float>?, lane: Lane) -> Double {
        let c = model.configuration.inChannels
        let paddedHeight = rowMap.count, paddedWidth = columnMap.count
        let (h, w) = (height, width)
        let engine = lane.engine
        return rowMap.withUnsafeBufferPointer { rows in
            columnMap.withUnsafeBufferPointer { cols in
                let p = lane.paddedInput
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
                let network = Double(engine.evaluate(p, gradient: gradient == nil ? nil : lane.paddedGradient,
                                                      scale: scale, quadratic: false))
                var squaredNorm = 0.0
                for i in 0..<imageCount { squaredNorm += Double(x[i]) * Double(x[i]) }
                let alpha = model.configuration.alpha
                if let gradient {
                    // f = Rᵀ g' + 2αx: every padded pixel adds its gradient to its source.
                    for i in 0..<imageCount { gradient[i] = 2 * alpha * x[i] }
                    let g = lane.paddedGradient
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

/// One lane of a ``WholeFrameProx``: an engine and the buffers one evaluation writes (the padded
/// frame and its gradient; with symmetry, a transformed frame and its gradient).
/// @unchecked Sendable: a lane is used by one evaluation at a time (``WholeFrameProx`` gives
/// each concurrent part its own lane) and its buffers are never shared.
private final class Lane: @unchecked Sendable {
    let engine: LPNEngine
    let paddedInput: UnsafeMutablePointer<Float>, paddedGradient: UnsafeMutablePointer<Float>
    let transformed: UnsafeMutablePointer<Float>, transformedGradient: UnsafeMutablePointer<Float>
    private let buffers: [UnsafeMutablePointer<Float>]

    init(engine: LPNEngine, frameCount: Int) {
        self.engine = engine
        paddedInput = zeroedFloats(engine.imageCount); paddedGradient = zeroedFloats(engine.imageCount)
        transformed = zeroedFloats(frameCount); transformedGradient = zeroedFloats(frameCount)
        buffers = [paddedInput, paddedGradient, transformed, transformedGradient]
    }

    deinit { buffers.forEach { $0.deallocate() } }
}
