import Foundation

/// Which image feeds a stage's "R" (skip) convolution: the input or one of its down-samplings.
public enum SkipSource: Int, Sendable {
    case input = 1, half = 2, quarter = 4, eighth = 8
}

/// One stage of the ICNN: z_out = σ(L * z_in + R * skip + bias).
///
/// Stage 0 has no L input (its "L" is the unconstrained first convolution on x) and no R.
/// The geometries are those of an N×N input; on a larger frame every layer keeps its kernel
/// and stride and only the sizes grow (``ConvGeometry/resized(height:width:)``).
public struct LPNStage: Sendable {
    /// Weight of the convolution on the previous activation, [out, in·k·k] row-major.
    public let linear: [Float]
    public let linearGeometry: ConvGeometry
    /// Weight of the skip convolution on the (down-sampled) input, if any.
    public let skip: [Float]?
    public let skipGeometry: ConvGeometry?
    public let skipSource: SkipSource?
    public let bias: [Float]
}

/// An immutable, validated LPN: configuration plus weights laid out for sgemm.
///
/// Safe to share across threads; evaluation state lives in ``LPNEngine``.
public final class LPNModel: Sendable {
    public let configuration: LPNConfiguration
    public let stages: [LPNStage]
    /// Final linear layer w7 (64 values) and its bias b7.
    public let outputWeight: [Float]
    public let outputBias: Float
    /// Where the model came from (for messages).
    public let path: String

    /// Loads and validates a model file (safetensors; layout from its metadata, or from a JSON
    /// file with the same stem when the metadata has no `architecture`).
    public convenience init(path: String) throws {
        let file = try SafeTensorsFile(path: path)
        var metadata = file.metadata
        if metadata["architecture"] == nil {
            let sidecar = (path as NSString).deletingPathExtension + ".json"
            if let data = FileManager.default.contents(atPath: sidecar) {
                guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                    throw LPNError.invalidModel(path: sidecar, "not a JSON object")
                }
                for (key, value) in object { metadata[key] = "\(value)" }
            } else {
                throw LPNError.invalidModel(path: path, "metadata has no 'architecture' and there is no \(sidecar) beside it")
            }
        }
        let configuration = try LPNConfiguration(metadata: metadata, path: path)
        try self.init(configuration: configuration, tensors: file.tensors.mapValues { ($0.shape, $0.values) }, path: path)
    }

    /// Builds a model from named tensors with the reference state_dict's keys and shapes.
    public init(configuration: LPNConfiguration, tensors: [String: (shape: [Int], values: [Float])],
                path: String = "<memory>") throws {
        let c = configuration.inChannels, h = configuration.hidden, n = configuration.size
        let k = configuration.finalKernel, f = LPNConfiguration.finalChannels
        func tensor(_ key: String, _ shape: [Int], nonNegative: Bool = false) throws -> [Float] {
            guard let entry = tensors[key] else {
                throw LPNError.invalidModel(path: path, "tensor '\(key)' is missing (expected shape \(shape))")
            }
            guard entry.shape == shape else {
                throw LPNError.invalidModel(path: path, "tensor '\(key)' has shape \(entry.shape), expected \(shape)")
            }
            for (i, v) in entry.values.enumerated() {
                guard v.isFinite else {
                    throw LPNError.invalidModel(path: path, "tensor '\(key)' has a non-finite value \(v) at flat index \(i)")
                }
                if nonNegative && v < 0 {
                    throw LPNError.invalidModel(path: path, "tensor '\(key)' has the negative value \(v) at flat index \(i); the architecture requires ≥ 0 for ψ to be convex")
                }
            }
            return entry.values
        }
        func geometry(_ cin: Int, _ cout: Int, kernel: Int = 3, stride: Int, padding: Int = 1, at size: Int) -> ConvGeometry {
            ConvGeometry(inChannels: cin, outChannels: cout, kernel: kernel, stride: stride, padding: padding,
                         inHeight: size, inWidth: size)
        }

        var stages: [LPNStage] = []
        stages.append(LPNStage(
            linear: try tensor("lin.0.weight", [h, c, 3, 3]), linearGeometry: geometry(c, h, stride: 1, at: n),
            skip: nil, skipGeometry: nil, skipSource: nil, bias: try tensor("lin.0.bias", [h])))
        // (L stride, L input size, skip source, skip stride) for stages 1…5; stage 6 is the full window.
        let plan: [(Int, Int, SkipSource, Int)] = [
            (2, n, .input, 2), (1, n / 2, .half, 1), (2, n / 2, .half, 2),
            (1, n / 4, .quarter, 1), (2, n / 4, .quarter, 2),
        ]
        for (i, (stride, size, source, skipStride)) in plan.enumerated() {
            let stage = i + 1
            stages.append(LPNStage(
                linear: try tensor("lin.\(stage).weight", [h, h, 3, 3], nonNegative: true),
                linearGeometry: geometry(h, h, stride: stride, at: size),
                skip: try tensor("res.\(i).weight", [h, c, 3, 3]),
                skipGeometry: geometry(c, h, stride: skipStride, at: n / source.rawValue),
                skipSource: source,
                bias: try tensor("res.\(i).bias", [h])))
        }
        stages.append(LPNStage(
            linear: try tensor("lin.6.weight", [f, h, k, k], nonNegative: true),
            linearGeometry: geometry(h, f, kernel: k, stride: 1, padding: 0, at: n / 8),
            skip: try tensor("res.5.weight", [f, c, k, k]),
            skipGeometry: geometry(c, f, kernel: k, stride: 1, padding: 0, at: n / 8),
            skipSource: .eighth,
            bias: try tensor("res.5.bias", [f])))
        self.outputWeight = try tensor("lin.7.weight", [1, f], nonNegative: true)
        self.outputBias = try tensor("lin.7.bias", [1])[0]
        self.configuration = configuration
        self.stages = stages
        self.path = path
    }

    /// Multiply-adds of one ψ evaluation (forward convolutions only) on one N×N image.
    public var forwardMultiplyAdds: Int {
        stages.reduce(0) { $0 + $1.linearGeometry.multiplyAdds + ($1.skipGeometry?.multiplyAdds ?? 0) }
    }
}
