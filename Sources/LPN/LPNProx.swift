import TensorIO

/// The learned proximal operator on frames and batches of any size, as ``FrameProcessing``
/// says: whole frames (``WholeFrameProx``, exact, the default) or patches (``PatchProx``).
///
///     tensor ─▶ batchShape ─▶ per image: WholeFrameProx(H, W) │ PatchProx ─▶ tensor
///
/// Keeps one ``WholeFrameProx`` for the last frame size seen (a stream of equal frames
/// allocates nothing after the first); one instance per thread.
public final class LPNProx {
    public let model: LPNModel
    public let processing: FrameProcessing
    private let patches: PatchProx?
    private var frame: WholeFrameProx?
    /// Threads one whole-frame evaluation may use (``LPNEngine``).
    public let threads: Int

    /// `processing` nil: ``FrameProcessing/standard(for:)``.
    public init(model: LPNModel, processing: FrameProcessing? = nil, threads: Int = 1) throws {
        self.model = model
        self.threads = threads
        let processing = processing ?? .standard(for: model)
        self.processing = processing
        if case .patches(let stride, let weighting) = processing {
            patches = try PatchProx(model: model, stride: stride, weighting: weighting)
        } else {
            patches = nil
        }
    }

    /// The whole-frame prox for H×W (built on first use of a size).
    public func wholeFrame(height: Int, width: Int) throws -> WholeFrameProx {
        guard case .whole(let padding, let symmetry) = processing else {
            throw LPNError.invalidInput("ψ of a whole frame needs whole-frame processing, not \(processing)")
        }
        if let frame, frame.height == height, frame.width == width { return frame }
        let made = try WholeFrameProx(model: model, height: height, width: width, padding: padding,
                                      symmetry: symmetry, threads: threads)
        frame = made
        return made
    }

    /// f(x) for every image of the tensor; the result has the input's shape.
    public func apply(_ input: Tensor) throws -> Tensor {
        let (batch, c, h, w) = try shape(of: input)
        try Self.checkFinite(input)
        var output = Tensor(shape: input.shape, data: [Float](repeating: 0, count: input.count))
        let stride = c * h * w
        try input.data.withUnsafeBufferPointer { src in
            try output.data.withUnsafeMutableBufferPointer { dst in
                for b in 0..<batch {
                    try apply(src.baseAddress! + b * stride, dst.baseAddress! + b * stride, height: h, width: w)
                }
            }
        }
        return output
    }

    /// f on one C×H×W image, written to `output`; returns ψ_frame(input) for whole-frame
    /// processing (nil for patches, whose output is the gradient of no potential).
    @discardableResult
    public func apply(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>,
                      height h: Int, width w: Int) throws -> Double? {
        if let patches {
            patches.apply(input, output, height: h, width: w)
            return nil
        }
        return try wholeFrame(height: h, width: w).evaluate(input, gradient: output)
    }

    /// ψ_frame for every image of a tensor (whole-frame processing; with patches only N×N
    /// images, where ψ is the model's).
    public func potential(_ input: Tensor) throws -> [Float] {
        let (batch, c, h, w) = try shape(of: input)
        try Self.checkFinite(input)
        let count = c * h * w
        if patches != nil {
            let n = model.configuration.size
            guard h == n && w == n else {
                throw LPNError.invalidInput("ψ is defined on \(n)×\(n) images with patch processing; got \(h)×\(w) (use whole-frame processing)")
            }
            return input.data.withUnsafeBufferPointer { src in
                (0..<batch).map { patches!.engine.evaluate(src.baseAddress! + $0 * count) }
            }
        }
        let frame = try wholeFrame(height: h, width: w)
        return input.data.withUnsafeBufferPointer { src in
            (0..<batch).map { Float(frame.evaluate(src.baseAddress! + $0 * count)) }
        }
    }

    /// The batch shape, checked against what the processing accepts.
    func shape(of input: Tensor) throws -> (Int, Int, Int, Int) {
        let dims = try model.configuration.batchShape(of: input.shape)
        try validate(height: dims.height, width: dims.width)
        return dims
    }

    /// Throws unless frames of H×W can be processed.
    public func validate(height h: Int, width w: Int) throws {
        let n = model.configuration.size
        switch processing {
        case .patches:
            guard h >= n && w >= n else {
                throw LPNError.invalidInput("frame \(h)×\(w) is smaller than the model's \(n)×\(n) input; patches need at least that (whole-frame processing pads)")
            }
        case .whole(let padding, let symmetry):
            guard padding.accepts(length: h, modelSize: n), padding.accepts(length: w, modelSize: n) else {
                throw LPNError.invalidInput("frame \(h)×\(w) needs sides that are multiples of 8 and at least \(n) with padding none")
            }
            try symmetry.check(height: h, width: w)
        }
    }

    static func checkFinite(_ input: Tensor) throws {
        if let (index, value) = input.firstNonFinite {
            throw LPNError.invalidInput("value \(value) at flat index \(index) is not finite")
        }
    }
}
