import Foundation
import TensorIO
import Support

/// Random valid LPNs (non-negative where convexity requires it), for benchmarks and tests
/// that need a model of a given size without a file.
public enum RandomLPN {
    public static func make(hidden: Int, size: Int, inChannels: Int, beta: Float = 100,
                            alpha: Float = 1e-6, seed: UInt64) throws -> LPNModel {
        let config = LPNConfiguration(inChannels: inChannels, hidden: hidden, beta: beta, alpha: alpha,
                                      size: size, noiseLevel: 0.1, name: "random")
        var rng = SplitMix64(seed: seed)
        let k = size / 8, f = LPNConfiguration.finalChannels, c = inChannels, h = hidden
        var tensors: [String: (shape: [Int], values: [Float])] = [:]
        func add(_ key: String, _ shape: [Int], nonNegative: Bool) {
            let count = shape.reduce(1, *)
            let fanIn = shape.count > 1 ? shape.dropFirst().reduce(1, *) : 1
            // Non-negative weights average their inputs (mean 1/fan-in) and free weights are
            // ~N(0, 1/fan-in), so activations stay O(1) through the depth instead of growing.
            tensors[key] = (shape, (0..<count).map { _ in
                nonNegative ? Float(2 * rng.nextUnit() / Double(fanIn))
                            : Float(rng.nextGaussian() / Double(fanIn).squareRoot())
            })
        }
        add("lin.0.weight", [h, c, 3, 3], nonNegative: false)
        add("lin.0.bias", [h], nonNegative: false)
        for i in 1...5 { add("lin.\(i).weight", [h, h, 3, 3], nonNegative: true) }
        add("lin.6.weight", [f, h, k, k], nonNegative: true)
        add("lin.7.weight", [1, f], nonNegative: true)
        add("lin.7.bias", [1], nonNegative: false)
        for i in 0...4 {
            add("res.\(i).weight", [h, c, 3, 3], nonNegative: false)
            add("res.\(i).bias", [h], nonNegative: false)
        }
        add("res.5.weight", [f, c, k, k], nonNegative: false)
        add("res.5.bias", [f], nonNegative: false)
        return try LPNModel(configuration: config, tensors: tensors, path: "<random hidden \(hidden)>")
    }
}
