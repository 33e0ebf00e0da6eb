import Foundation
import LPN
import TensorIO
import Support

/// Paths and helpers shared by the LPN tests.
enum Fixtures {
    static let directory: String = {
        Bundle.module.resourceURL!.appendingPathComponent("Fixtures").path
    }()

    static func path(_ name: String) -> String { directory + "/" + name }
    static func model(_ name: String) throws -> LPNModel { try LPNModel(path: path(name + ".safetensors")) }
    static func tensor(_ name: String) throws -> Tensor { try NPY.read(path: path(name + ".npy")) }

    /// A scratch directory unique to one test.
    static func scratch() -> String {
        let dir = NSTemporaryDirectory() + "lpnd-tests-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }
}

/// One OpenBLAS thread, as lpnd sets it at start (for the whole test process, once touched).
/// OpenBLAS's own threads share one pool across the process: when tests running at once call
/// it together, it splits the same sgemm differently from call to call, which moves results
/// by an ulp.
let blasSingleThreaded: Void = openBLASSetThreads(1)

/// ‖a − b‖∞ / ‖b‖∞: the error measure the golden tests bound.
func relativeMaxError(_ a: [Float], _ b: [Float]) -> Double {
    precondition(a.count == b.count)
    var diff = 0.0, scale = 0.0
    for i in 0..<a.count {
        diff = max(diff, Double(abs(a[i] - b[i])))
        scale = max(scale, Double(abs(b[i])))
    }
    return diff / max(scale, 1e-30)
}

func randomImage(_ count: Int, seed: UInt64, range: ClosedRange<Float> = 0...1) -> [Float] {
    var rng = SplitMix64(seed: seed)
    return (0..<count).map { _ in range.lowerBound + (range.upperBound - range.lowerBound) * Float(rng.nextUnit()) }
}

func dot(_ a: [Float], _ b: [Float]) -> Double {
    zip(a, b).reduce(0) { $0 + Double($1.0) * Double($1.1) }
}

extension LPNEngine {
    /// (ψ(x), f(x)) for one image given as an array.
    func psiAndProx(_ x: [Float]) -> (Float, [Float]) {
        var f = [Float](repeating: 0, count: x.count)
        let psi = x.withUnsafeBufferPointer { xp in
            f.withUnsafeMutableBufferPointer { fp in evaluate(xp.baseAddress!, gradient: fp.baseAddress!) }
        }
        return (psi, f)
    }

    func psi(_ x: [Float]) -> Float {
        x.withUnsafeBufferPointer { evaluate($0.baseAddress!) }
    }
}
