import CKernels

/// A convolution (3×3 with padding 1 at stride 1 or 2; any k×k at stride 1) run by the direct kernels of
/// `Sources/CKernels/directconv.c` instead of im2col and sgemm, forward and adjoint:
///
///     forward    out[o] (+)= Σ_c w[o][c] ⋆ in[c]          (output rows shared out in bands)
///     adjoint    g[c]   (+)= Σ_o w[o][c] ⋆ᵀ δ[o]           (input rows shared out in bands)
///
/// Each runs in two steps: the source (the input, or δ) is copied once into zero-padded rows
/// (channels shared out over the threads), then bands of rows are computed from the copy. The
/// weights are packed for both directions once, here.
///
/// Measured on this machine's AVX-512 core (`lpnd bench prox`, docs/BENCHMARKS.md), against
/// im2col + OpenBLAS sgemm at hidden 32: 2.4× on stride-1 layers, 1.5× on stride-2, 1.8× on
/// both adjoints; on one-channel inputs (the first layer, the skips) 1.7× forward, but the
/// adjoint into one channel (one output row per tile instead of eight) is slower than sgemm
/// and col2im, so it keeps that path (``runsAdjoint``). The whole prox is faster at every
/// width measured (hidden 32 to 256).
struct DirectConvolution {
    let geometry: ConvGeometry
    /// Whether the adjoint runs here too: only when it produces enough channels to fill a tile.
    let runsAdjoint: Bool
    private let packedForward: [Float]
    /// Empty when the adjoint does not run here.
    private let packedAdjoint: [Float]

    /// Input channels of the layer (= output channels of its adjoint) from which the adjoint is
    /// faster here than through sgemm and col2im.
    static let adjointMinimumChannels = 8

    /// nil when the kernels do not support the shape.
    init?(geometry g: ConvGeometry, weight: [Float]) {
        var shape = g.kernelShape
        guard lpn_conv_direct_supports(&shape) != 0 else { return nil }
        precondition(weight.count == g.outChannels * g.inChannels * g.kernel * g.kernel,
                     "weight of \(weight.count) floats for \(g)")
        geometry = g
        runsAdjoint = g.inChannels >= Self.adjointMinimumChannels
        var forward = [Float](repeating: 0, count: weight.count)
        lpn_direct_pack(0, &shape, g.outChannels, weight, &forward)
        packedForward = forward
        var adjoint = [Float]()
        if runsAdjoint {
            adjoint = [Float](repeating: 0, count: weight.count)
            lpn_direct_pack(1, &shape, g.outChannels, weight, &adjoint)
        }
        packedAdjoint = adjoint
    }

    /// Floats of the shared padded copy, and of each thread's scratch.
    func copySize(adjoint: Bool) -> Int {
        var shape = geometry.kernelShape
        return lpn_direct_copy_size(adjoint ? 1 : 0, &shape, geometry.outChannels)
    }

    func scratchSize(adjoint: Bool) -> Int {
        var shape = geometry.kernelShape
        return lpn_direct_scratch_size(adjoint ? 1 : 0, &shape, geometry.outChannels)
    }

    /// output (+)= the convolution of input (or, with `adjoint`, gradient (+)= its adjoint applied
    /// to input = δ; only when ``runsAdjoint``), on the pool's threads: `copy` holds
    /// ``copySize(adjoint:)`` floats and each of `scratch` (one per thread)
    /// ``scratchSize(adjoint:)``. Without `accumulate` the output is overwritten. With a `region`
    /// (of the output's pixels: the layer's output forward, its input for the adjoint) only that
    /// rectangle is computed and written.
    func apply(adjoint: Bool, _ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>,
               accumulate: Bool, copy: UnsafeMutablePointer<Float>, scratch: [UnsafeMutablePointer<Float>],
               pool: WorkerPool, region: MapRegion? = nil) {
        precondition(!adjoint || runsAdjoint, "the adjoint of \(geometry) runs through sgemm")
        let g = geometry
        let sources = adjoint ? g.outChannels : g.inChannels
        let region = region ?? MapRegion(height: adjoint ? g.inHeight : g.outHeight,
                                          width: adjoint ? g.inWidth : g.outWidth)
        precondition(region.isInside(height: adjoint ? g.inHeight : g.outHeight, width: adjoint ? g.inWidth : g.outWidth),
                     "\(region) outside the \(adjoint ? "input" : "output") of \(g)")
        let rows = region.rows.count, firstRow = region.rows.lowerBound
        guard rows > 0, !region.columns.isEmpty else { return }
        let direction: Int32 = adjoint ? 1 : 0
        // Copying a small source is not worth handing to another thread.
        let sourceCount = adjoint ? g.outCount : g.inCount
        let threads = pool.threads
        let copyParts = sourceCount < LPNEngine.parallelMinimum ? 1 : min(threads, sources)
        pool.run(copyParts) { part in
            var shape = g.kernelShape
            let first = sources * part / copyParts, end = sources * (part + 1) / copyParts
            lpn_direct_prepare(direction, &shape, g.outChannels, input, first, end - first, firstRow, rows, copy)
        }
        let band = max(1, (rows + 4 * threads - 1) / (4 * threads)), bands = (rows + band - 1) / band
        (adjoint ? packedAdjoint : packedForward).withUnsafeBufferPointer { packed in
            let packed = packed.baseAddress!
            pool.run(bands) { b, thread in
                var shape = g.kernelShape
                let first = b * band
                lpn_direct_rows(direction, &shape, g.outChannels, copy, packed, firstRow + first,
                                min(band, rows - first), region.columns.lowerBound, region.columns.count,
                                scratch[thread], output, accumulate ? 1 : 0)
            }
        }
    }
}
