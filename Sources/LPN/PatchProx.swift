/// The learned prox applied in overlapping N×N patches, as the reference does for frames
/// larger than its model: patches start every `stride` pixels (one more flush with the far
/// edge, ``PatchGrid``), each goes through the model, and the outputs are averaged per pixel,
/// uniformly (the paper's) or Hann-weighted. Per-pixel weights make the result, in general,
/// the gradient of no function, so this is not an exact prox: ``WholeFrameProx`` is the
/// default and this stays for comparison.
///
/// Owns an ``LPNEngine`` and its patch buffers; one instance per thread.
public final class PatchProx {
    public let engine: LPNEngine
    public var model: LPNModel { engine.model }
    /// Distance between patch origins for frames larger than N (default N/2).
    public let stride: Int
    public let weighting: PatchWeighting
    private let window: [Float]

    private var patchIn: [Float]
    private var patchOut: [Float]
    private var coverage: [Float] = []
    private var coverageShape: (Int, Int) = (0, 0)

    public init(model: LPNModel, stride: Int? = nil, weighting: PatchWeighting = .uniform) throws {
        let n = model.configuration.size
        let s = stride ?? n / 2
        guard s >= 1 && s <= n else {
            throw LPNError.invalidInput("patch stride \(s) must be between 1 and the model size \(n)")
        }
        self.engine = LPNEngine(model: model)
        self.stride = s
        self.weighting = weighting
        window = weighting.window(size: n)
        patchIn = [Float](repeating: 0, count: engine.imageCount)
        patchOut = patchIn
    }

    /// f on one C×H×W image (H, W ≥ N), written to `output`.
    ///
    /// No allocation in steady state: the coverage map (Σ patch weights per pixel, inverted) is
    /// kept while the frame size repeats.
    public func apply(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, height h: Int, width w: Int) {
        let n = model.configuration.size, c = model.configuration.inChannels
        if h == n && w == n {
            engine.evaluate(input, gradient: output)
            return
        }
        let rows = PatchGrid.starts(length: h, patch: n, stride: stride)
        let cols = PatchGrid.starts(length: w, patch: n, stride: stride)
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
}
