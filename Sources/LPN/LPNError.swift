/// Errors raised by the LPN module. Messages name the file, tensor or value at fault.
public enum LPNError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The model file cannot be parsed (truncated, malformed header, wrong dtype, …).
    case modelFile(path: String, String)
    /// The model parses but does not describe a valid LPN (missing or mis-shaped tensor, a
    /// negative weight where convexity needs ≥ 0, bad metadata).
    case invalidModel(path: String, String)
    /// The input cannot be processed by this model (shape, channels, non-finite values).
    case invalidInput(String)

    public var description: String {
        switch self {
        case .modelFile(let path, let reason): return "\(path): \(reason)"
        case .invalidModel(let path, let reason): return "\(path): invalid LPN model: \(reason)"
        case .invalidInput(let reason): return "invalid input: \(reason)"
        }
    }
}
