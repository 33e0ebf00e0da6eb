/// Errors from reading or writing tensors and images. Each names the file and what is wrong.
public struct TensorIOError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let reason: String

    public init(path: String, _ reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(path): \(reason)" }
}
