import Foundation
import Testing

/// `lpnd prox --symmetry`: the whole-frame prox averaged over mirror images; refused where it
/// has no meaning (patches, a dihedral group on an oblong frame), with the reason.
@Suite struct ProxCommandTests {
    static let model = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../LPNTests/Fixtures/n32_c1.safetensors").standardized.path

    /// A float32 .npy of `height`×`width` with a ramp.
    static func image(height: Int, width: Int) throws -> String {
        let path = NSTemporaryDirectory() + "lpnd-prox-" + UUID().uuidString.prefix(8) + ".npy"
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(height), \(width)), }"
        let padded = header + String(repeating: " ", count: 63 - (10 + header.utf8.count) % 64) + "\n"
        let values = (0..<(height * width)).map { Float($0 % 17) / 17 }
        let bytes = [UInt8]([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(padded.utf8.count), 0]) + Array(padded.utf8)
            + values.withUnsafeBytes { Array($0) }
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    func lpnd(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try MRDProcessTests.run(DaemonProcessTests.executable, ["prox", "--model", Self.model] + arguments)
    }

    @Test func symmetryRunsOnWholeFramesAndIsRefusedElsewhere() throws {
        let square = try Self.image(height: 40, width: 40), oblong = try Self.image(height: 40, width: 48)
        let out = NSTemporaryDirectory() + "lpnd-prox-out-" + UUID().uuidString.prefix(8) + ".npy"
        let ok = try lpnd(["--input", square, "--output", out, "--symmetry", "dihedral"])
        #expect(ok.status == 0, "\(ok.output)")
        let patches = try lpnd(["--input", square, "--output", out, "--processing", "patches", "--symmetry", "flips"])
        #expect(patches.status != 0 && patches.output.contains("--symmetry needs --processing whole"), "\(patches.output)")
        let notSquare = try lpnd(["--input", oblong, "--output", out, "--symmetry", "dihedral"])
        #expect(notSquare.status != 0 && notSquare.output.contains("square") && notSquare.output.contains("40×48"), "\(notSquare.output)")
        #expect(try lpnd(["--input", oblong, "--output", out, "--symmetry", "flips"]).status == 0)
    }
}
