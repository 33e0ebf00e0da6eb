import TensorIO

/// The learned proximal operator on frames of any size ≥ N: f applied directly to N×N images
/// and on overlapping N×N patches to larger ones, the overlaps averaged (uniformly, as in the
/// paper, or Hann-weighted).
///
/// Owns an ``LPNEngine`` and its patch buffers; one instance per thread.
public final class LPNProx {
    public let engine: LPNEngine
    public var model: LPNModel { engine.model }
    /// Distance between patch origins for frames larger than N (default N/2).
    public let patchStride: Int
    public let weighting: PatchWeighting
    private let window: [Float]

    private var patchIn: [Float]
    private var patchOut: [Float]
    private var coverage: [Float] = []
    private var coverageShape: (Int, Int) = (0, 0)

    public init(model: LPNModel, patchStride: Int? = nil, weighting: PatchWeighting = .uniform) throws {
        let n = model.configuration.size
        let stride = patchStride ?? n / 2
        guard stride >= 1 && stride <= n else {
            throw LPNError.invalidInput("patch stride \(stride) must be between 1 and the model size \(n)")
        }
        self.engine = LPNEngine(model: model)
        self.patchStride = stride
        self.weighting = weighting
        window = weighting.window(size: n)
        patchIn = [Float](repeating: 0, count: engine.imageCount)
        patchOut = patchIn
    }

    /// f(x) for every image of the tensor; the result has the input's shape.
    public func apply(_ input: Tensor) throws -> Tensor {
        let (batch, c, h, w) = try model.configuration.batchShape(of: input.shape)
        try Self.checkFinite(input)
        var output = Tensor(shape: input.shape, data: [Float](repeating: 0, count: input.count))
        let stride = c * h * w
        input.data.withUnsafeBufferPointer { src in
            output.data.withUnsafeMutableBufferPointer { dst in
                for b in 0..<batch {
                    apply(src.baseAddress! + b * stride, dst.baseAddress! + b * stride, height: h, width: w)
                }
            }
        }
        return output
    }

    /// f on one C×H×W image (H, W ≥ N, already validated), written to `output`.
    ///
    /// No allocation in steady state: the coverage map (Σ patch weights per pixel, inverted) is
    /// kept while the frame size repeats.
    public func apply(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, height h: Int, width w: Int) {
        let n = model.configuration.size, c = model.configuration.inChannels
        if h == n && w == n {
            engine.evaluate(input, gradient: output)
            return
        }
        let rows = PatchGrid.starts(length: h, patch: n, stride: patchStride)
        let cols = PatchGrid.starts(length: w, patch: n, stride: patchStride)
        if coverageShape != (h, w) {
            coverage = [Float](repeating: 0, count: h * w)
            for r in rows { for q in cols { for y in 0..<n { for x in 0..<n { coverage[(r + y) * w + q + x] += window[y * n + x] } } } }
            for i in 0..<coverage.count { coverage[i] = 1 / coverage[i] }
            coverageShape = (h, w)
        }
        output.update(repeating: 0, count: c * h * w)
        patchIn.withUnsafeMutableBufferPointer { pin in
            patchOut.withUnsafeMutableBufferPointer { pout in
            window.withUnsafeBufferPointer { weight in
                for r in rows {
                    for q in cols {
                        for ch in 0..<c {
                            for y in 0..<n {
                                (pin.baseAddress! + (ch * n + y) * n)
                                    .update(from: input + (ch * h + r + y) * w + q, count: n)
                            }
                        }
                        engine.evaluate(pin.baseAddress!, gradient: pout.baseAddress!)
                        for ch in 0..<c {
                            for y in 0..<n {
                                let dst = output + (ch * h + r + y) * w + q
                                let src = pout.baseAddress! + (ch * n + y) * n
                                for x in 0..<n { dst[x] += weight[y * n + x] * src[x] }
                            }
                        }
                    }
                }
            }
            }
        }
        coverage.withUnsafeBufferPointer { weight in
            for ch in 0..<c {
                let plane = output + ch * h * w
                for i in 0..<(h * w) { plane[i] *= weight[i] }
            }
        }
    }

    /// ψ for every image of a tensor whose images are exactly N×N.
    public func potential(_ input: Tensor) throws -> [Float] {
        let (batch, c, h, w) = try model.configuration.batchShape(of: input.shape)
        let n = model.configuration.size
        guard h == n && w == n else {
            throw LPNError.invalidInput("ψ is defined on \(n)×\(n) images; got \(h)×\(w)")
        }
        try Self.checkFinite(input)
        return input.data.withUnsafeBufferPointer { src in
            (0..<batch).map { engine.evaluate(src.baseAddress! + $0 * c * h * w) }
        }
    }

    static func checkFinite(_ input: Tensor) throws {
        if let (index, value) = input.firstNonFinite {
            throw LPNError.invalidInput("value \(value) at flat index \(index) is not finite")
        }
    }
}
