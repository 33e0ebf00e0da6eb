import CKernels
import COpenBLAS

/// Evaluates the network ψ and its gradient ∇ψ on one C×H×W image, with the reverse pass
/// written out by hand.
///
///     x ──D2,D4,D8──▶ skips
///     z₁ = σ(L₀x + b₀), z_{l+1} = σ(L_l z_l + R_l skip_l + c_l)   (l = 1…6)
///     ψ(x) = s·(w₇ · mean_p z₇[p] + b₇) + α‖x‖²
///
/// On an N×N image (the model's size) z₇ is 1×1 and, with s = 1, this is the model's ψ. On a
/// larger H×W image (sides multiples of 8) every layer is the same convolution over a larger
/// map, and the last one (an N/8 × N/8 kernel without padding) slides over P positions: ψ is
/// still convex in x (same non-negative weights, same convex non-decreasing σ), so ∇ψ is
/// still exactly a proximal operator. The scale s and whether α‖x‖² is included are the
/// caller's (``WholeFrameProx`` scales and adds α on the unpadded frame).
///
/// Each convolution runs on the direct kernels (``DirectConvolution``), and so does its
/// adjoint when it has at least ``DirectConvolution/adjointMinimumChannels`` input channels;
/// the other adjoints (into the one-channel image) run as one sgemm per band of output rows
/// and col2im. The last layer, whose kernel covers its whole input on an N×N image, runs
/// there as sgemv; on a larger frame, where it slides, it is a direct convolution too (up to
/// N = 128; im2col and sgemm above).
///
/// An engine made with a `varying` rectangle serves images that are zero outside it (a frame
/// with zero margins, ``WholeFrameProx``): every layer's pixels that the rectangle cannot reach
/// (``MapRegion``) are the same in every call, so they are computed once, on a zero image, when
/// the engine is made, and each call recomputes only the rectangle's reach, forward and in
/// reverse. The result is the same (each pixel summed in the same order), for less work: about
/// half the convolutions of a 256×256 frame in its 368×368 zero-padded map.
///
/// An engine owns its work buffers, sized for one H×W (allocated once, reused for every
/// call), so it is not thread-safe: give each worker thread its own engine over the same
/// shared ``LPNModel``. With `threads` > 1 one evaluation spreads its convolutions' bands of
/// rows and its element-wise passes over its own ``WorkerPool`` (each band writes its own rows:
/// output rows forward, input rows for the direct adjoint; col2im runs even and odd bands in
/// two rounds, so bands that run at once never add into the same input rows, and one thread
/// keeps the same order), so results are equal bit for bit whatever the thread count (with
/// OpenBLAS on one thread, as lpnd runs it).
public final class LPNEngine {
    public let model: LPNModel
    public let height: Int, width: Int
    let channels: Int
    /// Per stage, at this engine's size.
    let linearGeometries: [ConvGeometry]
    let skipGeometries: [ConvGeometry?]
    /// Per stage, the convolutions the direct kernels run (nil: sgemv on a full window, or
    /// im2col + sgemm for a last-layer kernel over 16×16, a model above 128×128).
    let linearDirect: [DirectConvolution?]
    let skipDirect: [DirectConvolution?]

    // Per stage: post-activation z and softplus slope σ'(pre-activation).
    var activations: [UnsafeMutablePointer<Float>] = []
    var slopes: [UnsafeMutablePointer<Float>] = []
    // Down-sampled inputs and their gradients, indexed by SkipSource.
    var skipInputs: [SkipSource: UnsafeMutablePointer<Float>] = [:]
    var skipGradients: [SkipSource: UnsafeMutablePointer<Float>] = [:]
    /// im2col columns, one buffer per thread.
    let columns: [UnsafeMutablePointer<Float>]
    /// Threads one evaluation may use.
    public let threads: Int
    /// Their pool, which runs the evaluation's parallel sections.
    let pool: WorkerPool
    /// The direct kernels' padded copy of their source, shared by the threads.
    let directCopy: UnsafeMutablePointer<Float>
    let gradientA: UnsafeMutablePointer<Float>
    let gradientB: UnsafeMutablePointer<Float>
    var allocations: [UnsafeMutablePointer<Float>] = []
    static let skipSources: [SkipSource] = [.half, .quarter, .eighth]
    /// The rectangle of the image that may be non-zero (nil: all of it).
    public let varying: MapRegion?
    /// Per stage, the output pixels `varying` reaches, and the pixels of its skip source it
    /// covers (nil: all; the last stage is always computed whole).
    let reached: [MapRegion?]
    let reachedSkip: [MapRegion?]
    /// Whether the pixels out of reach hold their values for a zero image, so that calls may
    /// skip them (false while those values are computed, in init).
    var primed = false

    /// An engine for H×W images (default the model's N×N); H and W must be multiples of 8
    /// and at least N. With `varying`, every image evaluated must be zero outside that
    /// rectangle, and the gradient is computed inside it only (zero outside).
    public init(model: LPNModel, height: Int? = nil, width: Int? = nil, threads: Int = 1,
                varying: MapRegion? = nil) {
        self.model = model
        pool = WorkerPool(threads: max(1, threads))
        self.threads = pool.threads
        let config = model.configuration
        let n = config.size
        let h = height ?? n, w = width ?? n
        precondition(h >= n && w >= n && h % 8 == 0 && w % 8 == 0, "engine size \(h)×\(w) for a \(n)×\(n) model")
        self.height = h
        self.width = w
        channels = config.inChannels
        func resized(_ g: ConvGeometry) -> ConvGeometry {
            g.resized(height: g.inHeight * h / n, width: g.inWidth * w / n)
        }
        linearGeometries = model.stages.map { resized($0.linearGeometry) }
        skipGeometries = model.stages.map { $0.skipGeometry.map(resized) }
        // Every convolution but the last layer's on an N×N image (one position: sgemv).
        linearDirect = zip(model.stages, linearGeometries).map { stage, g in
            g.isFullWindow ? nil : DirectConvolution(geometry: g, weight: stage.linear)
        }
        skipDirect = zip(model.stages, skipGeometries).map { stage, g in
            guard let g, let weight = stage.skip, !g.isFullWindow else { return nil }
            return DirectConvolution(geometry: g, weight: weight)
        }
        var columnCount = 0, largest = 0, copyCount = 0
        for direct in (linearDirect + skipDirect).compactMap({ $0 }) {
            copyCount = max(copyCount, direct.copySize(adjoint: false))
            columnCount = max(columnCount, direct.scratchSize(adjoint: false))
            if direct.runsAdjoint {
                copyCount = max(copyCount, direct.copySize(adjoint: true))
                columnCount = max(columnCount, direct.scratchSize(adjoint: true))
            }
        }
        // im2col columns, for the convolutions that run a direction through sgemm
        func im2colColumns(_ g: ConvGeometry, _ direct: DirectConvolution?) -> Int {
            direct?.runsAdjoint == true ? 0 : g.patchLength * Self.bandRows(g) * g.outWidth
        }
        var allocated: [UnsafeMutablePointer<Float>] = []
        for l in linearGeometries.indices {
            let g = linearGeometries[l]
            let z = zeroedFloats(g.outCount), s = zeroedFloats(g.outCount)
            activations.append(z); slopes.append(s)
            allocated += [z, s]
            largest = max(largest, g.outCount, g.inCount)
            columnCount = max(columnCount, im2colColumns(g, linearDirect[l]))
            if let sg = skipGeometries[l] { columnCount = max(columnCount, im2colColumns(sg, skipDirect[l])) }
        }
        for source in Self.skipSources {
            let count = channels * (h / source.rawValue) * (w / source.rawValue)
            let input = zeroedFloats(count), gradient = zeroedFloats(count)
            skipInputs[source] = input; skipGradients[source] = gradient
            allocated += [input, gradient]
        }
        columns = (0..<self.threads).map { _ in zeroedFloats(columnCount) }
        directCopy = zeroedFloats(copyCount)
        gradientA = zeroedFloats(largest)
        gradientB = zeroedFloats(largest)
        allocations = allocated + columns + [directCopy, gradientA, gradientB]

        // Each stage's reach: its linear input's reach through L, and its skip source's through R.
        if let varying {
            precondition(varying.isInside(height: h, width: w), "varying \(varying) is not inside the \(h)×\(w) image")
        }
        let partial = varying.flatMap { $0.covers(height: h, width: w) ? nil : $0 }
        self.varying = partial
        let (linear, skip) = (linearGeometries, skipGeometries)
        (reached, reachedSkip) = partial.map { Self.reaches(of: $0, model: model, linear: linear, skip: skip) } ?? ([], [])
        if partial != nil {
            let zeros = [Float](repeating: 0, count: channels * h * w)
            evaluate(zeros)
            primed = true
        }
    }

    deinit {
        for p in allocations { p.deallocate() }
    }

    /// Per stage, the output pixels a `partial` rectangle of the image reaches (its linear
    /// input's reach through L, hulled with its skip source's through R; the last stage: nil,
    /// always whole), and the pixels of its skip source the rectangle covers.
    private static func reaches(of partial: MapRegion, model: LPNModel, linear: [ConvGeometry], skip: [ConvGeometry?])
        -> (reached: [MapRegion?], skip: [MapRegion?]) {
        var reached = [MapRegion?](), reachedSkip = [MapRegion?]()
        var previous = partial
        for (l, stage) in model.stages.enumerated() {
            var reach = previous.reached(through: linear[l])
            var skipReach: MapRegion?
            if let sg = skip[l], let source = stage.skipSource {
                let covered = partial.downsampled(by: source.rawValue)
                skipReach = covered
                reach = reach.hull(covered.reached(through: sg))
            }
            reached.append(l == model.stages.count - 1 ? nil : reach)
            reachedSkip.append(skipReach)
            previous = reach
        }
        return (reached, reachedSkip)
    }

    /// Values in one image: C·H·W.
    public var imageCount: Int { channels * height * width }

    /// Positions of the last layer's window: 1 on an N×N image.
    public var positions: (rows: Int, columns: Int) {
        let g = linearGeometries[linearGeometries.count - 1]
        return (g.outHeight, g.outWidth)
    }

    /// ψ(x) for one image; when `gradient` is given, also writes f(x) = ∇ψ(x) there.
    ///
    /// - Parameters:
    ///   - image: C×H×W values, row-major.
    ///   - gradient: C×H×W output buffer, or nil for ψ alone (half the cost).
    ///   - scale: s, multiplying the network part (w₇ · mean z₇ + b₇) and its gradient.
    ///   - quadratic: whether α‖x‖² (and 2αx) is included.
    @discardableResult
    public func evaluate(_ image: UnsafePointer<Float>, gradient: UnsafeMutablePointer<Float>? = nil,
                         scale: Float = 1, quadratic: Bool = true) -> Float {
        assert(varying.map { zeroOutside($0, image) } ?? true, "the image is not zero outside \(varying!)")
        // Softplus slopes of very negative pre-activations underflow: keep them off the slow
        // subnormal path (lpn_flush_denormals).
        let fpMode = lpn_flush_denormals()
        defer { lpn_restore_fp_mode(fpMode) }
        let potential = forward(image, scale: scale, quadratic: quadratic)
        if let gradient { reverse(image, gradient: gradient, scale: scale, quadratic: quadratic) }
        return potential
    }
}
