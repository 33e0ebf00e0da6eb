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
/// rows and its element-wise passes over that many threads (each band writes its own rows:
/// output rows forward, input rows for the direct adjoint; col2im runs even and odd bands in
/// two rounds, so bands that run at once never add into the same input rows, and one thread
/// keeps the same order), so results are equal bit for bit whatever the thread count (with
/// OpenBLAS on one thread, as lpnd runs it).
public final class LPNEngine {
    public let model: LPNModel
    public let height: Int, width: Int
    private let channels: Int
    /// Per stage, at this engine's size.
    private let linearGeometries: [ConvGeometry]
    private let skipGeometries: [ConvGeometry?]
    /// Per stage, the convolutions the direct kernels run (nil: sgemv on a full window, or
    /// im2col + sgemm for a last-layer kernel over 16×16, a model above 128×128).
    private let linearDirect: [DirectConvolution?]
    private let skipDirect: [DirectConvolution?]

    // Per stage: post-activation z and softplus slope σ'(pre-activation).
    private var activations: [UnsafeMutablePointer<Float>] = []
    private var slopes: [UnsafeMutablePointer<Float>] = []
    // Down-sampled inputs and their gradients, indexed by SkipSource.
    private var skipInputs: [SkipSource: UnsafeMutablePointer<Float>] = [:]
    private var skipGradients: [SkipSource: UnsafeMutablePointer<Float>] = [:]
    /// im2col columns, one buffer per thread.
    private let columns: [UnsafeMutablePointer<Float>]
    /// Threads one evaluation may use.
    public let threads: Int
    /// The direct kernels' padded copy of their source, shared by the threads.
    private let directCopy: UnsafeMutablePointer<Float>
    private let gradientA: UnsafeMutablePointer<Float>
    private let gradientB: UnsafeMutablePointer<Float>
    private var allocations: [UnsafeMutablePointer<Float>] = []
    private static let skipSources: [SkipSource] = [.half, .quarter, .eighth]
    /// The rectangle of the image that may be non-zero (nil: all of it).
    public let varying: MapRegion?
    /// Per stage, the output pixels `varying` reaches, and the pixels of its skip source it
    /// covers (nil: all; the last stage is always computed whole).
    private let reached: [MapRegion?]
    private let reachedSkip: [MapRegion?]
    /// Whether the pixels out of reach hold their values for a zero image, so that calls may
    /// skip them (false while those values are computed, in init).
    private var primed = false

    /// An engine for H×W images (default the model's N×N); H and W must be multiples of 8
    /// and at least N. With `varying`, every image evaluated must be zero outside that
    /// rectangle, and the gradient is computed inside it only (zero outside).
    public init(model: LPNModel, height: Int? = nil, width: Int? = nil, threads: Int = 1,
                varying: MapRegion? = nil) {
        self.model = model
        self.threads = max(1, threads)
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
        var reached = [MapRegion?](), reachedSkip = [MapRegion?]()
        if let partial {
            var previous = partial
            for (l, stage) in model.stages.enumerated() {
                var reach = previous.reached(through: linearGeometries[l])
                var skipReach: MapRegion?
                if let sg = skipGeometries[l], let source = stage.skipSource {
                    let covered = partial.downsampled(by: source.rawValue)
                    skipReach = covered
                    reach = reach.hull(covered.reached(through: sg))
                }
                let isLast = l == model.stages.count - 1
                reached.append(isLast ? nil : reach)
                reachedSkip.append(skipReach)
                previous = reach
            }
        }
        self.reached = reached
        self.reachedSkip = reachedSkip
        if partial != nil {
            let zeros = [Float](repeating: 0, count: channels * h * w)
            evaluate(zeros)
            primed = true
        }
    }

    deinit {
        for p in allocations { p.deallocate() }
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
        let config = model.configuration
        assert(varying.map { zeroOutside($0, image) } ?? true, "the image is not zero outside \(varying!)")
        // Softplus slopes of very negative pre-activations underflow: keep them off the slow
        // subnormal path (lpn_flush_denormals).
        let fpMode = lpn_flush_denormals()
        defer { lpn_restore_fp_mode(fpMode) }
        for source in Self.skipSources {
            Downsample.apply(image, channels: channels, height: height, width: width, factor: source.rawValue,
                             into: skipInputs[source]!)
        }
        // Forward: z_l = σ(L_l * z_{l-1} + R_l * skip + b_l), keeping σ' for the reverse pass;
        // in a primed engine, only inside each stage's reach.
        for (l, stage) in model.stages.enumerated() {
            let g = linearGeometries[l]
            let input = l == 0 ? image : UnsafePointer(activations[l - 1])
            let pre = activations[l], region = primed ? reached[l] : nil
            convolve(input, stage.linear, g, direct: linearDirect[l], into: pre, accumulate: false, region: region)
            if let skip = stage.skip, let sg = skipGeometries[l], let source = stage.skipSource {
                convolve(skipInput(source, image), skip, sg, direct: skipDirect[l], into: pre, accumulate: true,
                         region: region)
            }
            let slope = slopes[l]
            stage.bias.withUnsafeBufferPointer { bias in
                let bias = bias.baseAddress!
                runs(of: region, channels: g.outChannels, height: g.outHeight, width: g.outWidth) { c, offset, count in
                    lpn_bias_softplus(pre + offset, slope + offset, bias + c, 1, count, config.beta)
                }
            }
        }
        let last = model.stages.count - 1
        let finalGeometry = linearGeometries[last]
        let pixels = finalGeometry.outPixels
        var network = Double(model.outputBias)
        for c in 0..<finalGeometry.outChannels {
            var sum = Double(0)
            for i in 0..<pixels { sum += Double(activations[last][c * pixels + i]) }
            network += Double(model.outputWeight[c]) * sum / Double(pixels)
        }
        var potential = Double(scale) * network
        if quadratic {
            var squaredNorm = Double(0)
            for i in 0..<imageCount { squaredNorm += Double(image[i]) * Double(image[i]) }
            potential += Double(config.alpha) * squaredNorm
        }

        guard let gradient else { return Float(potential) }

        // Reverse: δ_l = g_l ⊙ σ'_l; g_{l-1} = L_lᵀ δ_l; skip gradients collect R_lᵀ δ_l.
        gradient.update(repeating: 0, count: imageCount)
        for source in Self.skipSources {
            skipGradients[source]!.update(repeating: 0, count: channels * (height / source.rawValue) * (width / source.rawValue))
        }
        var upstream = gradientA, spare = gradientB
        for c in 0..<finalGeometry.outChannels {
            let value = scale * model.outputWeight[c] / Float(pixels)
            for i in 0..<pixels { upstream[c * pixels + i] = value }
        }
        // In a primed engine each δ is needed only inside its stage's reach: the image
        // gradient inside `varying` reads nothing else.
        for l in stride(from: last, through: 0, by: -1) {
            let stage = model.stages[l]
            let g = linearGeometries[l]
            let slope = slopes[l], delta = upstream
            runs(of: primed ? reached[l] : nil, channels: g.outChannels, height: g.outHeight,
                 width: g.outWidth) { _, offset, count in
                lpn_multiply(delta + offset, slope + offset, count)
            }
            if let skip = stage.skip, let sg = skipGeometries[l], let source = stage.skipSource {
                let target = source == .input ? gradient : skipGradients[source]!
                convolveAdjoint(upstream, skip, sg, direct: skipDirect[l], into: target, accumulate: true,
                                region: primed ? reachedSkip[l] : nil)
            }
            if l == 0 {
                convolveAdjoint(upstream, stage.linear, g, direct: linearDirect[l], into: gradient, accumulate: true,
                                region: primed ? varying : nil)
            } else {
                convolveAdjoint(upstream, stage.linear, g, direct: linearDirect[l], into: spare, accumulate: false,
                                region: primed ? reached[l - 1] : nil)
                swap(&upstream, &spare)
            }
        }
        for source in Self.skipSources {
            Downsample.accumulateAdjoint(skipGradients[source]!, channels: channels, height: height, width: width,
                                         factor: source.rawValue, into: gradient)
        }
        let twoAlpha = 2 * config.alpha
        if quadratic && twoAlpha != 0 {
            for i in 0..<imageCount { gradient[i] += twoAlpha * image[i] }
        }
        if primed, let varying {
            // outside `varying` the sums above are partial: write zeros there
            for c in 0..<channels {
                let plane = gradient + c * height * width
                for r in 0..<height {
                    let row = plane + r * width
                    guard varying.rows.contains(r) else { row.update(repeating: 0, count: width); continue }
                    row.update(repeating: 0, count: varying.columns.lowerBound)
                    (row + varying.columns.upperBound).update(repeating: 0, count: width - varying.columns.upperBound)
                }
            }
        }
        return Float(potential)
    }

    /// Whether every channel of `image` is zero outside `region` (checked in debug builds).
    private func zeroOutside(_ region: MapRegion, _ image: UnsafePointer<Float>) -> Bool {
        for i in 0..<imageCount {
            let row = (i / width) % height, column = i % width
            if image[i] != 0 && !(region.rows.contains(row) && region.columns.contains(column)) { return false }
        }
        return true
    }

    /// Calls `body(channel, offset, count)` for every run of contiguous values of `region` in
    /// the first `channels` planes of an H×W map (one run per plane when `region` is nil),
    /// channels shared out over the threads.
    private func runs(of region: MapRegion?, channels: Int, height: Int, width: Int,
                      _ body: (Int, Int, Int) -> Void) {
        let plane = height * width
        guard let region else {
            parallel(channels, itemSize: plane) { range in
                for c in range { body(c, c * plane, plane) }
            }
            return
        }
        guard !region.isEmpty else { return }
        parallel(channels, itemSize: region.pixels) { range in
            for c in range {
                for r in region.rows { body(c, c * plane + r * width + region.columns.lowerBound, region.columns.count) }
            }
        }
    }

    private func skipInput(_ source: SkipSource, _ image: UnsafePointer<Float>) -> UnsafePointer<Float> {
        source == .input ? image : UnsafePointer(skipInputs[source]!)
    }

    /// Floats of im2col columns per band of output rows: a band's columns stay in L2 between
    /// im2col (or col2im) and the sgemm, instead of a whole frame's streaming through memory.
    static let columnBudget = 1 << 18

    /// Output rows per band for geometry g.
    private static func bandRows(_ g: ConvGeometry) -> Int {
        max(1, min(g.outHeight, columnBudget / max(1, g.patchLength * g.outWidth)))
    }

    /// Element-wise work below this many values runs on the calling thread: handing it to
    /// another thread would cost more than it saves.
    static let parallelMinimum = 1 << 14

    /// Runs `body` on `count` items of `itemSize` values each, split into up to `threads`
    /// contiguous ranges, at once.
    private func parallel(_ count: Int, itemSize: Int, _ body: (Range<Int>) -> Void) {
        let parts = count * itemSize < Self.parallelMinimum ? 1 : min(threads, count)
        concurrently(parts) { part in body((count * part / parts)..<(count * (part + 1) / parts)) }
    }

    /// out (+)= W · im2col(input): one sgemm per band of output rows (one sgemv when the kernel
    /// covers the input, the direct kernels when they support the shape); bands are shared out
    /// over the threads.
    private func convolve(_ input: UnsafePointer<Float>, _ weight: [Float], _ g: ConvGeometry,
                          direct: DirectConvolution?, into output: UnsafeMutablePointer<Float>, accumulate: Bool,
                          region: MapRegion? = nil) {
        if let direct {
            direct.apply(adjoint: false, input, into: output, accumulate: accumulate, copy: directCopy,
                         scratch: columns, threads: threads, region: region)
            return
        }
        precondition(region == nil, "only the direct kernels compute part of an output")
        let beta: Float = accumulate ? 1 : 0
        weight.withUnsafeBufferPointer { w in
            let w = w.baseAddress!
            if g.isFullWindow {
                cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(g.outChannels), Int32(g.patchLength),
                            1, w, Int32(g.patchLength), input, 1, beta, output, 1)
                return
            }
            let band = Self.bandRows(g), bands = (g.outHeight + band - 1) / band
            let lanes = min(threads, bands)
            let run: (Int) -> Void = { lane in
                var shape = g.kernelShape
                for b in stride(from: lane, to: bands, by: lanes) {
                    let first = b * band, rows = min(band, g.outHeight - first), pixels = rows * g.outWidth
                    lpn_im2col(input, &shape, first, rows, self.columns[lane])
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
                                Int32(g.outChannels), Int32(pixels), Int32(g.patchLength),
                                1, w, Int32(g.patchLength), self.columns[lane], Int32(pixels),
                                beta, output + first * g.outWidth, Int32(g.outPixels))
                }
            }
            concurrently(lanes, run)
        }
    }

    /// gradient (+)= col2im(Wᵀ · δ): the adjoint of ``convolve``, band by band (without
    /// `accumulate`, gradient is overwritten: the direct kernels write it, the sgemm path zeroes
    /// it first). With several threads, even bands first and odd bands second: two bands apart
    /// never touch the same input row when (rows + 1)·stride > kernel − 1; otherwise the bands
    /// run one at a time.
    ///
    /// With a `region` (of the gradient), only the gradient there is exact: the sgemm path runs
    /// the bands of δ rows that reach it (and adds partial sums around it).
    private func convolveAdjoint(_ delta: UnsafePointer<Float>, _ weight: [Float], _ g: ConvGeometry,
                                 direct: DirectConvolution?, into gradient: UnsafeMutablePointer<Float>,
                                 accumulate: Bool, region: MapRegion? = nil) {
        if let direct, direct.runsAdjoint {
            direct.apply(adjoint: true, delta, into: gradient, accumulate: accumulate, copy: directCopy,
                         scratch: columns, threads: threads, region: region)
            return
        }
        if !accumulate { gradient.update(repeating: 0, count: g.inCount) }
        let deltaRows = region.map { $0.reached(through: g).rows } ?? 0..<g.outHeight
        guard !deltaRows.isEmpty else { return }
        weight.withUnsafeBufferPointer { w in
            let w = w.baseAddress!
            if g.isFullWindow {
                cblas_sgemv(CblasRowMajor, CblasTrans, Int32(g.outChannels), Int32(g.patchLength),
                            1, w, Int32(g.patchLength), delta, 1, 1, gradient, 1)
                return
            }
            // Whole bands of the whole map's grid, those that meet deltaRows: the same sgemm calls
            // (OpenBLAS rounds a clipped band's edge differently) adding in the same order.
            let band = Self.bandRows(g)
            let firstBand = deltaRows.lowerBound / band, endBand = (deltaRows.upperBound + band - 1) / band
            // The even/odd order holds for one thread too, so sums are added in the same order
            // (and results are equal bit for bit) whatever the thread count.
            let disjoint = (band + 1) * g.stride > g.kernel - 1
            let lanes = disjoint ? max(1, min(threads, (endBand - firstBand) / 2)) : 1
            for round in 0..<(disjoint ? 2 : 1) {
                let run: (Int) -> Void = { lane in
                    var shape = g.kernelShape
                    let parityStart = firstBand + (firstBand % 2 == round ? 0 : 1)
                    let start = disjoint ? parityStart + 2 * lane : firstBand, step = disjoint ? 2 * lanes : 1
                    for b in stride(from: start, to: endBand, by: step) {
                        let first = b * band, rows = min(band, g.outHeight - first), pixels = rows * g.outWidth
                        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans,
                                    Int32(g.patchLength), Int32(pixels), Int32(g.outChannels),
                                    1, w, Int32(g.patchLength), delta + first * g.outWidth, Int32(g.outPixels),
                                    0, self.columns[lane], Int32(pixels))
                        lpn_col2im_add(self.columns[lane], &shape, first, rows, gradient)
                    }
                }
                concurrently(lanes, run)
            }
        }
    }
}
