/// The layout of an LPN: what `lpnd` needs besides the tensors to run it.
///
/// Stored as strings in the safetensors `__metadata__` (or in a JSON file beside the model with
/// the same keys): `architecture`, `in_channels`, `hidden`, `beta`, `alpha`, `size`,
/// `noise_level`, optional `name`, `description` and the calibration keys of
/// ``PriorCalibration``.
public struct LPNConfiguration: Sendable, Codable, Equatable {
    /// Only the reference's `lpn_128` layout (at any size N, a multiple of 8) exists today.
    public var architecture: String
    public var inChannels: Int
    public var hidden: Int
    /// Softplus sharpness β.
    public var beta: Float
    /// Strong-convexity weight: ψ gets + α‖x‖².
    public var alpha: Float
    /// The input size N: the model was trained on N×N images (a frame of another size is one
    /// larger map for the same convolutions, ``WholeFrameProx``).
    public var size: Int
    /// The noise standard deviation the model was trained for (images in [0, 1]).
    public var noiseLevel: Float
    public var name: String?
    public var description: String?
    /// The prior's statistics on its training images (``PriorCalibration``), when measured.
    public var calibration: PriorCalibration?
    /// The whole-frame padding this model is served with by default (metadata
    /// `frame_padding`, written by `lpnd calibrate`); zero when absent.
    public var framePadding: FramePadding = .zero

    /// Channels of the last layer (fixed by the reference layout).
    public static let finalChannels = 64

    public init(architecture: String = "lpn_128", inChannels: Int, hidden: Int, beta: Float,
                alpha: Float, size: Int, noiseLevel: Float, name: String? = nil, description: String? = nil) {
        self.architecture = architecture
        self.inChannels = inChannels
        self.hidden = hidden
        self.beta = beta
        self.alpha = alpha
        self.size = size
        self.noiseLevel = noiseLevel
        self.name = name
        self.description = description
    }

    /// Kernel size of the last layer: the N/8 × N/8 map becomes 1 × 1.
    public var finalKernel: Int { size / 8 }

    /// Interprets a tensor as a batch of C×H×W images: [H, W], [C, H, W] or [B, C, H, W].
    public func batchShape(of shape: [Int]) throws -> (batch: Int, channels: Int, height: Int, width: Int) {
        let c = inChannels
        let dims: (Int, Int, Int, Int)
        switch shape.count {
        case 2: dims = (1, 1, shape[0], shape[1])
        case 3: dims = (1, shape[0], shape[1], shape[2])
        case 4: dims = (shape[0], shape[1], shape[2], shape[3])
        default: throw LPNError.invalidInput("shape \(shape) is not [H,W], [C,H,W] or [B,C,H,W]")
        }
        guard dims.1 == c else {
            throw LPNError.invalidInput("shape \(shape) has \(dims.1) channel(s); the model expects \(c)")
        }
        guard dims.0 >= 1, dims.2 >= 1, dims.3 >= 1 else {
            throw LPNError.invalidInput("shape \(shape) is empty")
        }
        return dims
    }

    /// Parses the metadata strings, naming the key at fault.
    init(metadata: [String: String], path: String) throws {
        func fail(_ reason: String) -> LPNError { .invalidModel(path: path, reason) }
        func string(_ key: String) throws -> String {
            guard let value = metadata[key] else { throw fail("metadata key '\(key)' is missing") }
            return value
        }
        func int(_ key: String) throws -> Int {
            let text = try string(key)
            guard let value = Int(text) else { throw fail("metadata '\(key)' = '\(text)' is not an integer") }
            return value
        }
        func float(_ key: String) throws -> Float {
            let text = try string(key)
            guard let value = Float(text), value.isFinite else {
                throw fail("metadata '\(key)' = '\(text)' is not a finite number")
            }
            return value
        }
        self.init(architecture: try string("architecture"), inChannels: try int("in_channels"),
                  hidden: try int("hidden"), beta: try float("beta"), alpha: try float("alpha"),
                  size: try int("size"), noiseLevel: try float("noise_level"),
                  name: metadata["name"], description: metadata["description"])
        calibration = try PriorCalibration(metadata: metadata, path: path)
        if let text = metadata["frame_padding"] {
            guard let padding = FramePadding(rawValue: text) else {
                throw fail("metadata 'frame_padding' = '\(text)' is not one of: \(FramePadding.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            framePadding = padding
        }
        guard architecture == "lpn_128" else {
            throw fail("architecture '\(architecture)' is not supported (expected 'lpn_128')")
        }
        guard inChannels >= 1 else { throw fail("in_channels = \(inChannels) must be ≥ 1") }
        guard hidden >= 1 else { throw fail("hidden = \(hidden) must be ≥ 1") }
        guard size >= 8, size % 8 == 0 else { throw fail("size = \(size) must be a positive multiple of 8") }
        guard beta > 0 else { throw fail("beta = \(beta) must be > 0") }
        guard alpha >= 0 else { throw fail("alpha = \(alpha) must be ≥ 0 (ψ must stay convex)") }
        guard noiseLevel >= 0 else { throw fail("noise_level = \(noiseLevel) must be ≥ 0") }
    }
}
