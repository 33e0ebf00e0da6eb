import CKernels
import Testing

/// The direct 3×3 convolution kernels (directconv.c) at every instruction-set level this CPU
/// has, forward and adjoint, adding and overwriting, against the convolution summed in double
/// precision; and bands of rows against one call, bit for bit. (A CPU without AVX-512 tests
/// the levels it has: the 16-lane tiles only run where they can.)
@Suite struct DirectConvolutionKernelTests {
    /// (input channels, output channels, height, width, stride[, kernel, padding]; 3×3 with
    /// padding 1 when not given): one-channel inputs, channel counts that leave a remainder after
    /// the 8- and 4-channel blocks, more than one 32-channel chunk forward (40 inputs) and in the
    /// adjoint (40 outputs), widths that end in a partial vector and widths that fill whole
    /// vectors exactly (64); and the last layer's kind, a large kernel without padding (8×8, as a
    /// 64×64 model's; 16×16, the largest), or with some (5×5, padding 2).
    static let shapes: [(Int, Int, Int, Int, Int, Int, Int)] = [
        (1, 32, 16, 24, 1, 3, 1), (1, 32, 16, 24, 2, 3, 1), (32, 32, 10, 18, 1, 3, 1), (5, 11, 8, 40, 2, 3, 1),
        (16, 3, 12, 36, 1, 3, 1), (9, 17, 6, 6, 2, 3, 1), (40, 8, 8, 20, 1, 3, 1), (40, 9, 8, 20, 2, 3, 1),
        (8, 40, 8, 20, 1, 3, 1), (8, 40, 8, 20, 2, 3, 1), (3, 8, 4, 64, 1, 3, 1), (3, 8, 4, 128, 2, 3, 1),
        (12, 20, 14, 29, 1, 8, 0), (1, 9, 17, 17, 1, 16, 0), (10, 9, 9, 23, 1, 5, 2),
    ]

    struct Case {
        let shape: lpn_conv_shape
        let inChannels: Int, outChannels: Int
        let input: [Float], weight: [Float], delta: [Float]

        init(_ s: (Int, Int, Int, Int, Int, Int, Int)) {
            let (cin, cout, h, w, stride, k, p) = s
            shape = lpn_conv_shape(channels: cin, height: h, width: w, kernel: k, stride: stride, padding: p,
                                   out_height: (h + 2 * p - k) / stride + 1, out_width: (w + 2 * p - k) / stride + 1)
            inChannels = cin
            outChannels = cout
            var state: UInt64 = 0x9E37_79B9_7F4A_7C15 &* UInt64(cin * 1000 + cout * 10 + stride)
            func next() -> Float {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return Float(Int(state >> 40) % 2001 - 1000) / 1000
            }
            input = (0..<(cin * h * w)).map { _ in next() }
            weight = (0..<(cout * cin * k * k)).map { _ in next() }
            delta = (0..<(cout * shape.out_height * shape.out_width)).map { _ in next() }
        }

        var outCount: Int { outChannels * shape.out_height * shape.out_width }

        /// The convolution and its adjoint, in double precision, from the definition.
        func reference() -> (forward: [Double], adjoint: [Double]) {
            let (h, w, oh, ow, s) = (shape.height, shape.width, shape.out_height, shape.out_width, shape.stride)
            let (n, p) = (shape.kernel, shape.padding)
            var forward = [Double](repeating: 0, count: outCount)
            var adjoint = [Double](repeating: 0, count: input.count)
            for o in 0..<outChannels {
                for c in 0..<inChannels {
                    for ky in 0..<n {
                        for kx in 0..<n {
                            let k = Double(weight[((o * inChannels + c) * n + ky) * n + kx])
                            for oy in 0..<oh {
                                let iy = oy * s - p + ky
                                guard iy >= 0, iy < h else { continue }
                                for ox in 0..<ow {
                                    let ix = ox * s - p + kx
                                    guard ix >= 0, ix < w else { continue }
                                    forward[(o * oh + oy) * ow + ox] += k * Double(input[(c * h + iy) * w + ix])
                                    adjoint[(c * h + iy) * w + ix] += k * Double(delta[(o * oh + oy) * ow + ox])
                                }
                            }
                        }
                    }
                }
            }
            return (forward, adjoint)
        }

        /// The kernel's result for rows [first, first + count) of each band in `bands`, starting
        /// from `start` (forward: output, adjoint: input gradient), added onto it or written over it.
        func run(adjoint: Bool, level: Int, bands: [(Int, Int)], columns: Range<Int>? = nil, start: [Float],
                 accumulate: Bool = true) -> [Float] {
            var shape = self.shape
            let direction: Int32 = adjoint ? 1 : 0
            var packed = [Float](repeating: 0, count: weight.count)
            lpn_direct_pack(direction, &shape, outChannels, weight, &packed)
            var copy = [Float](repeating: .nan, count: lpn_direct_copy_size(direction, &shape, outChannels))
            var scratch = [Float](repeating: .nan, count: lpn_direct_scratch_size(direction, &shape, outChannels))
            let source = adjoint ? delta : input
            let sources = adjoint ? outChannels : inChannels
            // in two parts, as the engine shares channels out over threads; only the rows the bands read
            let rows = adjoint ? Int(shape.height) : Int(shape.out_height)
            let first = bands.map(\.0).min() ?? 0, end = bands.map { $0.0 + $0.1 }.max() ?? rows
            lpn_direct_prepare(direction, &shape, outChannels, source, 0, sources / 2, first, end - first, &copy)
            lpn_direct_prepare(direction, &shape, outChannels, source, sources / 2, sources - sources / 2, first,
                               end - first, &copy)
            var out = start
            for (first, count) in bands {
                let columns = columns ?? 0..<(adjoint ? Int(shape.width) : Int(shape.out_width))
                lpn_direct_rows_at(Int32(level), direction, &shape, outChannels, copy, packed, first, count,
                                   columns.lowerBound, columns.count, &scratch, &out, accumulate ? 1 : 0)
            }
            return out
        }
    }

    @Test(arguments: shapes.indices)
    func everyLevelMatchesDoublePrecision(index: Int) {
        let c = Case(Self.shapes[index])
        let (forward, adjoint) = c.reference()
        // Accumulating onto a non-zero start checks that nothing is overwritten.
        let outStart = (0..<c.outCount).map { Float($0 % 7) - 3 }
        let inStart = (0..<c.input.count).map { Float($0 % 5) - 2 }
        let scale = Double(c.inChannels * Int(c.shape.kernel * c.shape.kernel))  // sums of that many terms of magnitude ≤ 1
        for level in 0...Int(lpn_kernel_level()) {
            let out = c.run(adjoint: false, level: level, bands: [(0, Int(c.shape.out_height))], start: outStart)
            for i in out.indices {
                #expect(abs(Double(out[i]) - (forward[i] + Double(outStart[i]))) <= 2e-6 * scale,
                        "level \(level), shape \(Self.shapes[index]), forward[\(i)]")
            }
            let grad = c.run(adjoint: true, level: level, bands: [(0, Int(c.shape.height))], start: inStart)
            let adjointScale = Double(c.outChannels * Int(c.shape.kernel * c.shape.kernel))
            for i in grad.indices {
                #expect(abs(Double(grad[i]) - (adjoint[i] + Double(inStart[i]))) <= 2e-6 * adjointScale,
                        "level \(level), shape \(Self.shapes[index]), adjoint[\(i)]")
            }
            // Overwriting: a NaN start must leave no trace.
            let overwritten = c.run(adjoint: false, level: level, bands: [(0, Int(c.shape.out_height))],
                                    start: [Float](repeating: .nan, count: c.outCount), accumulate: false)
            let overwrittenGrad = c.run(adjoint: true, level: level, bands: [(0, Int(c.shape.height))],
                                        start: [Float](repeating: .nan, count: c.input.count), accumulate: false)
            #expect(overwritten.indices.allSatisfy { abs(Double(overwritten[$0]) - forward[$0]) <= 2e-6 * scale },
                    "level \(level), shape \(Self.shapes[index]): forward, overwriting")
            #expect(overwrittenGrad.indices.allSatisfy { abs(Double(overwrittenGrad[$0]) - adjoint[$0]) <= 2e-6 * adjointScale },
                    "level \(level), shape \(Self.shapes[index]): adjoint, overwriting")
        }
    }

    @Test(arguments: shapes.indices)
    func bandsGiveTheSameResultBitForBit(index: Int) {
        let c = Case(Self.shapes[index])
        for level in 0...Int(lpn_kernel_level()) {
            for adjoint in [false, true] {
                let rows = Int(adjoint ? c.shape.height : c.shape.out_height)
                let start = [Float](repeating: 0, count: adjoint ? c.input.count : c.outCount)
                let whole = c.run(adjoint: adjoint, level: level, bands: [(0, rows)], start: start)
                let split = c.run(adjoint: adjoint, level: level, bands: (0..<rows).reversed().map { ($0, 1) },
                                  start: start)
                #expect(whole == split, "level \(level), shape \(Self.shapes[index]), adjoint \(adjoint)")
            }
        }
    }

    /// A rectangle of rows and columns (odd and even edges, one column, the last columns) gives
    /// the whole call's values inside it, bit for bit, and writes nothing outside it.
    @Test(arguments: shapes.indices)
    func rectanglesGiveTheSameResultBitForBit(index: Int) {
        let c = Case(Self.shapes[index])
        for level in 0...Int(lpn_kernel_level()) {
            for adjoint in [false, true] {
                let rows = Int(adjoint ? c.shape.height : c.shape.out_height)
                let width = Int(adjoint ? c.shape.width : c.shape.out_width)
                let count = adjoint ? c.input.count : c.outCount
                let whole = c.run(adjoint: adjoint, level: level, bands: [(0, rows)],
                                  start: [Float](repeating: 0, count: count), accumulate: false)
                let edges = [(1, width - 1), (width / 2, width / 2 + 1), (3, width), (0, 2)]
                for columns in edges.filter({ $0.0 < $0.1 && $0.1 <= width }).map({ $0.0..<$0.1 }) {
                    let firstRow = rows / 3, band = (firstRow, max(1, rows / 2))
                    let part = c.run(adjoint: adjoint, level: level, bands: [band], columns: columns,
                                     start: [Float](repeating: .nan, count: count), accumulate: false)
                    var inside = 0, wrong = 0, touched = 0
                    for i in 0..<count {
                        let x = i % width, y = (i / width) % rows
                        if columns.contains(x) && y >= band.0 && y < band.0 + band.1 {
                            inside += 1
                            if part[i] != whole[i] { wrong += 1 }
                        } else if !part[i].isNaN { touched += 1 }
                    }
                    #expect(inside > 0 && wrong == 0 && touched == 0,
                            "level \(level), shape \(Self.shapes[index]), adjoint \(adjoint), columns \(columns): \(wrong) wrong, \(touched) written outside")
                }
            }
        }
    }
}
