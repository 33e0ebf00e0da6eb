import COpenBLAS

/// Evaluates ψ(x) and f(x) = ∇ψ(x) for one N×N image at a time, with the reverse pass
/// written out by hand.
///
/// An engine owns its work buffers (allocated once, reused for every call), so it is not
/// thread-safe: give each worker thread its own engine over the same shared ``LPNModel``.
public final class LPNEngine {
    public let model: LPNModel
    private let n: Int, channels: Int

    // Per stage: post-activation z and softplus slope σ'(pre-activation).
    private var activations: [UnsafeMutablePointer<Float>] = []
    private var slopes: [UnsafeMutablePointer<Float>] = []
    // Down-sampled inputs and their gradients, indexed by SkipSource.
    private var skipInputs: [SkipSource: UnsafeMutablePointer<Float>] = [:]
    private var skipGradients: [SkipSource: UnsafeMutablePointer<Float>] = [:]
    private let columns: UnsafeMutablePointer<Float>
    private let gradientA: UnsafeMutablePointer<Float>
    private let gradientB: UnsafeMutablePointer<Float>
    private var allocations: [UnsafeMutablePointer<Float>] = []

    public init(model: LPNModel) {
        self.model = model
        let config = model.configuration
        n = config.size
        channels = config.inChannels
        func allocate(_ count: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
            p.initialize(repeating: 0, count: max(count, 1))
            return p
        }
        var columnCount = 0, largest = 0
        var allocated: [UnsafeMutablePointer<Float>] = []
        for stage in model.stages {
            let g = stage.linearGeometry
            let z = allocate(g.outCount), s = allocate(g.outCount)
            activations.append(z); slopes.append(s)
            allocated += [z, s]
            largest = max(largest, g.outCount, g.inCount)
            columnCount = max(columnCount, g.patchLength * g.outPixels)
            if let sg = stage.skipGeometry { columnCount = max(columnCount, sg.patchLength * sg.outPixels) }
        }
        for source in [SkipSource.half, .quarter, .eighth] {
            let side = n / source.rawValue
            let input = allocate(channels * side * side), gradient = allocate(channels * side * side)
            skipInputs[source] = input; skipGradients[source] = gradient
            allocated += [input, gradient]
        }
        columns = allocate(columnCount)
        gradientA = allocate(largest)
        gradientB = allocate(largest)
        allocations = allocated + [columns, gradientA, gradientB]
    }

    deinit {
        for p in allocations { p.deallocate() }
    }

    /// Values in one image: C·N·N.
    public var imageCount: Int { channels * n * n }

    /// ψ(x) for one image; when `gradient` is given, also writes f(x) = ∇ψ(x) there.
    ///
    /// - Parameters:
    ///   - image: C×N×N values, row-major.
    ///   - gradient: C×N×N output buffer, or nil for ψ alone (half the cost).
    @discardableResult
    public func evaluate(_ image: UnsafePointer<Float>, gradient: UnsafeMutablePointer<Float>? = nil) -> Float {
        let config = model.configuration
        for source in [SkipSource.half, .quarter, .eighth] {
            Downsample.apply(image, channels: channels, size: n, factor: source.rawValue, into: skipInputs[source]!)
        }
        // Forward: z_l = σ(L_l * z_{l-1} + R_l * skip + b_l), keeping σ' for the reverse pass.
        for (l, stage) in model.stages.enumerated() {
            let input = l == 0 ? image : UnsafePointer(activations[l - 1])
            let pre = activations[l]
            convolve(input, stage.linear, stage.linearGeometry, into: pre, accumulate: false)
            if let skip = stage.skip, let g = stage.skipGeometry, let source = stage.skipSource {
                convolve(skipInput(source, image), skip, g, into: pre, accumulate: true)
            }
            let pixels = stage.linearGeometry.outPixels
            for (c, b) in stage.bias.enumerated() {
                let row = pre + c * pixels
                for i in 0..<pixels { row[i] += b }
            }
            Softplus.apply(pre, slopes: slopes[l], count: stage.linearGeometry.outCount, beta: config.beta)
        }
        let last = model.stages.count - 1
        let finalGeometry = model.stages[last].linearGeometry
        let pixels = finalGeometry.outPixels
        var potential = Double(model.outputBias)
        var squaredNorm = Double(0)
        for c in 0..<finalGeometry.outChannels {
            var sum = Double(0)
            for i in 0..<pixels { sum += Double(activations[last][c * pixels + i]) }
            potential += Double(model.outputWeight[c]) * sum / Double(pixels)
        }
        for i in 0..<imageCount { squaredNorm += Double(image[i]) * Double(image[i]) }
        potential += Double(config.alpha) * squaredNorm

        guard let gradient else { return Float(potential) }

        // Reverse: δ_l = g_l ⊙ σ'_l; g_{l-1} = L_lᵀ δ_l; skip gradients collect R_lᵀ δ_l.
        gradient.update(repeating: 0, count: imageCount)
        for source in [SkipSource.half, .quarter, .eighth] {
            skipGradients[source]!.update(repeating: 0, count: channels * (n / source.rawValue) * (n / source.rawValue))
        }
        var upstream = gradientA, spare = gradientB
        for c in 0..<finalGeometry.outChannels {
            for i in 0..<pixels { upstream[c * pixels + i] = model.outputWeight[c] / Float(pixels) }
        }
        for l in stride(from: last, through: 0, by: -1) {
            let stage = model.stages[l]
            let g = stage.linearGeometry
            let slope = slopes[l]
            for i in 0..<g.outCount { upstream[i] *= slope[i] }
            if let skip = stage.skip, let sg = stage.skipGeometry, let source = stage.skipSource {
                let target = source == .input ? gradient : skipGradients[source]!
                convolveAdjoint(upstream, skip, sg, into: target)
            }
            if l == 0 {
                convolveAdjoint(upstream, stage.linear, g, into: gradient)
            } else {
                spare.update(repeating: 0, count: g.inCount)
                convolveAdjoint(upstream, stage.linear, g, into: spare)
                swap(&upstream, &spare)
            }
        }
        for source in [SkipSource.half, .quarter, .eighth] {
            Downsample.accumulateAdjoint(skipGradients[source]!, channels: channels, size: n,
                                         factor: source.rawValue, into: gradient)
        }
        let twoAlpha = 2 * config.alpha
        if twoAlpha != 0 {
            for i in 0..<imageCount { gradient[i] += twoAlpha * image[i] }
        }
        return Float(potential)
    }

    private func skipInput(_ source: SkipSource, _ image: UnsafePointer<Float>) -> UnsafePointer<Float> {
        source == .input ? image : UnsafePointer(skipInputs[source]!)
    }

    /// out (+)= W · im2col(input): one sgemm (one sgemv when the kernel covers the input).
    private func convolve(_ input: UnsafePointer<Float>, _ weight: [Float], _ g: ConvGeometry,
                          into output: UnsafeMutablePointer<Float>, accumulate: Bool) {
        let beta: Float = accumulate ? 1 : 0
        weight.withUnsafeBufferPointer { w in
            if g.isFullWindow {
                cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(g.outChannels), Int32(g.patchLength),
                            1, w.baseAddress, Int32(g.patchLength), input, 1, beta, output, 1)
                return
            }
            Im2Col.expand(input, g, into: columns)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
                        Int32(g.outChannels), Int32(g.outPixels), Int32(g.patchLength),
                        1, w.baseAddress, Int32(g.patchLength), columns, Int32(g.outPixels),
                        beta, output, Int32(g.outPixels))
        }
    }

    /// gradient += col2im(Wᵀ · δ): the adjoint of ``convolve``.
    private func convolveAdjoint(_ delta: UnsafePointer<Float>, _ weight: [Float], _ g: ConvGeometry,
                                 into gradient: UnsafeMutablePointer<Float>) {
        weight.withUnsafeBufferPointer { w in
            if g.isFullWindow {
                cblas_sgemv(CblasRowMajor, CblasTrans, Int32(g.outChannels), Int32(g.patchLength),
                            1, w.baseAddress, Int32(g.patchLength), delta, 1, 1, gradient, 1)
                return
            }
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans,
                        Int32(g.patchLength), Int32(g.outPixels), Int32(g.outChannels),
                        1, w.baseAddress, Int32(g.patchLength), delta, Int32(g.outPixels),
                        0, columns, Int32(g.outPixels))
            Im2Col.accumulate(columns, g, into: gradient)
        }
    }
}
