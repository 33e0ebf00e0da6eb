import CKernels
import COpenBLAS

/// The engine's convolutions, forward and adjoint, over bands of rows on its threads, and the
/// helpers its passes share (runs of a region, skip inputs, the zero-outside check).
extension LPNEngine {
    /// Whether every channel of `image` is zero outside `region` (checked in debug builds).
    func zeroOutside(_ region: MapRegion, _ image: UnsafePointer<Float>) -> Bool {
        for i in 0..<imageCount {
            let row = (i / width) % height, column = i % width
            if image[i] != 0 && !(region.rows.contains(row) && region.columns.contains(column)) { return false }
        }
        return true
    }

    /// Calls `body(channel, offset, count)` for every run of contiguous values of `region` in
    /// the first `channels` planes of an H×W map (one run per plane when `region` is nil),
    /// channels shared out over the threads.
    func runs(of region: MapRegion?, channels: Int, height: Int, width: Int,
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

    func skipInput(_ source: SkipSource, _ image: UnsafePointer<Float>) -> UnsafePointer<Float> {
        source == .input ? image : UnsafePointer(skipInputs[source]!)
    }

    /// Floats of im2col columns per band of output rows: a band's columns stay in L2 between
    /// im2col (or col2im) and the sgemm, instead of a whole frame's streaming through memory.
    static let columnBudget = 1 << 18

    /// Output rows per band for geometry g: as many as the column budget holds, but at least
    /// ``minimumBands`` bands, so that the adjoint's even and odd rounds each have bands for
    /// two threads and more. It depends on the map alone, never on the thread count: the
    /// same bands, the same sums, whatever the threads.
    static func bandRows(_ g: ConvGeometry) -> Int {
        let budget = columnBudget / max(1, g.patchLength * g.outWidth)
        return max(1, min(g.outHeight, budget, (g.outHeight + minimumBands - 1) / minimumBands))
    }

    /// Bands a map is cut into at least (when it has that many rows).
    static let minimumBands = 8

    /// Element-wise work below this many values runs on the calling thread: handing it to
    /// another thread would cost more than it saves.
    static let parallelMinimum = 1 << 14

    /// Runs `body` on `count` items of `itemSize` values each, split into up to `threads`
    /// contiguous ranges, at once.
    func parallel(_ count: Int, itemSize: Int, _ body: (Range<Int>) -> Void) {
        let parts = count * itemSize < Self.parallelMinimum ? 1 : min(threads, count)
        pool.run(parts) { part in body((count * part / parts)..<(count * (part + 1) / parts)) }
    }

    /// out (+)= W · im2col(input): one sgemm per band of output rows (one sgemv when the kernel
    /// covers the input, the direct kernels when they support the shape); bands are shared out
    /// over the threads.
    func convolve(_ input: UnsafePointer<Float>, _ weight: [Float], _ g: ConvGeometry,
                          direct: DirectConvolution?, into output: UnsafeMutablePointer<Float>, accumulate: Bool,
                          region: MapRegion? = nil) {
        if let direct {
            direct.apply(adjoint: false, input, into: output, accumulate: accumulate, copy: directCopy,
                         scratch: columns, pool: pool, region: region)
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
            pool.run(bands) { b, thread in
                var shape = g.kernelShape
                let first = b * band, rows = min(band, g.outHeight - first), pixels = rows * g.outWidth
                lpn_im2col(input, &shape, first, rows, self.columns[thread])
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
                            Int32(g.outChannels), Int32(pixels), Int32(g.patchLength),
                            1, w, Int32(g.patchLength), self.columns[thread], Int32(pixels),
                            beta, output + first * g.outWidth, Int32(g.outPixels))
            }
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
    func convolveAdjoint(_ delta: UnsafePointer<Float>, _ weight: [Float], _ g: ConvGeometry,
                                 direct: DirectConvolution?, into gradient: UnsafeMutablePointer<Float>,
                                 accumulate: Bool, region: MapRegion? = nil) {
        if let direct, direct.runsAdjoint {
            direct.apply(adjoint: true, delta, into: gradient, accumulate: accumulate, copy: directCopy,
                         scratch: columns, pool: pool, region: region)
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
            for round in 0..<(disjoint ? 2 : 1) {
                let start = disjoint ? firstBand + (firstBand % 2 == round ? 0 : 1) : firstBand, step = disjoint ? 2 : 1
                let count = start < endBand ? (endBand - start + step - 1) / step : 0
                let run: (Int, Int) -> Void = { i, thread in
                    var shape = g.kernelShape
                    let first = (start + i * step) * band, rows = min(band, g.outHeight - first), pixels = rows * g.outWidth
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans,
                                Int32(g.patchLength), Int32(pixels), Int32(g.outChannels),
                                1, w, Int32(g.patchLength), delta + first * g.outWidth, Int32(g.outPixels),
                                0, self.columns[thread], Int32(pixels))
                    lpn_col2im_add(self.columns[thread], &shape, first, rows, gradient)
                }
                if disjoint { pool.run(count, run) } else { for i in 0..<count { run(i, 0) } }
            }
        }
    }
}
