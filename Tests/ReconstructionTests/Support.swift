import Foundation
import LPN
import Reconstruction
import TensorIO
import Support

/// One OpenBLAS thread (as lpnd sets it): the pthread build's spinning threads make sgemm
/// many times slower on this shared 2-core machine.
let blasSingleThreaded: Void = openBLASSetThreads(1)

enum Fixture {
    /// Tests/ReconstructionTests/Fixtures in the source tree.
    static let directory: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path
    }()
    static func path(_ name: String) -> String {
        _ = blasSingleThreaded
        return directory + "/" + name
    }

    static func scratch() -> String {
        let dir = NSTemporaryDirectory() + "lpnd-recon-tests-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Writes a pipeline file into a scratch directory and returns its path.
    static func pipelineFile(_ text: String, name: String = "p.yaml") -> String {
        let path = scratch() + "/" + name
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }
}

func randomVector(_ count: Int, seed: UInt64) -> [Float] {
    var rng = SplitMix64(seed: seed)
    return (0..<count).map { _ in Float(rng.nextGaussian()) }
}

func dotProduct(_ a: [Float], _ b: [Float]) -> Double {
    zip(a, b).reduce(0) { $0 + Double($1.0) * Double($1.1) }
}

func norm(_ a: [Float]) -> Double { dotProduct(a, a).squareRoot() }

func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

/// |⟨Ax, y⟩ − ⟨x, Aᵀy⟩| / (‖Ax‖‖y‖): the adjoint mismatch on random data.
func adjointMismatch(_ op: LinearOperator, seed: UInt64) -> Double {
    let x = randomVector(op.imageCount, seed: seed)
    let y = randomVector(op.measurementCount, seed: seed + 1)
    let ax = op.forward(x), aty = op.adjoint(y)
    let lhs = dotProduct(ax, y), rhs = dotProduct(x, aty)
    return abs(lhs - rhs) / max(norm(ax) * norm(y), 1e-30)
}

/// Applies (a AᵀA + b I) to x.
func normalApply(_ op: LinearOperator, _ x: [Float], a: Float, b: Float) -> [Float] {
    let n = op.adjoint(op.forward(x))
    return zip(n, x).map { a * $0 + b * $1 }
}
