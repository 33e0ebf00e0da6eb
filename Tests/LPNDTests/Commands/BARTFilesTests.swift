import Foundation
import Testing

/// The offline CLI moves data to and from BART without scripts: k-space written as .cfl is
/// read back as .cfl, and the image written as .cfl equals the one written as .npy.
@Suite struct BARTFilesTests {
    @Test func kspaceAndImagesRoundTripThroughCFL() throws {
        let dir = NSTemporaryDirectory() + "lpnd-cfl-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let pipeline = dir + "/mc.yaml"
        try """
            name: mc
            image: {shape: [32, 32]}
            operator: {type: mri, coils: 4, acceleration: 2, center_fraction: 0.25, kspace: centered}
            prior: {type: tv, lambda: 0.01}
            solver: {type: admm, iterations: 10, rho: 0.1}
            simulation: {noise: 0.005}
            """.write(toFile: pipeline, atomically: true, encoding: .utf8)
        var image = [Float](repeating: 0, count: 32 * 32)
        for r in 8..<24 { for c in 10..<22 { image[r * 32 + c] = 0.7 } }
        let npyHeader = "{'descr': '<f4', 'fortran_order': False, 'shape': (32, 32), }"
        let padded = npyHeader + String(repeating: " ", count: 63 - (10 + npyHeader.utf8.count) % 64) + "\n"
        let npy = [UInt8]([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(padded.utf8.count), 0]) + Array(padded.utf8)
            + image.withUnsafeBytes { Array($0) }
        FileManager.default.createFile(atPath: dir + "/x.npy", contents: Data(npy))

        func lpnd(_ arguments: [String]) throws -> Int32 {
            try MRDProcessTests.run(DaemonProcessTests.executable, arguments).status
        }
        #expect(try lpnd(["simulate", "--pipeline", pipeline, "--input", dir + "/x.npy", "--output", dir + "/k.cfl"]) == 0)
        let header = try String(contentsOfFile: dir + "/k.hdr", encoding: .utf8)
        #expect(header.hasPrefix("# Dimensions\n32 32 1 4 1"), "\(header)")
        for output in ["r.npy", "r.cfl"] {
            #expect(try lpnd(["reconstruct", "--pipeline", pipeline, "--input", dir + "/k.cfl", "--output", dir + "/" + output]) == 0)
        }
        let npyImage = try Data(contentsOf: URL(fileURLWithPath: dir + "/r.npy")).suffix(32 * 32 * 4)
        let cfl = try Data(contentsOf: URL(fileURLWithPath: dir + "/r.cfl"))
        #expect(cfl.count == 32 * 32 * 8)
        let real = npyImage.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        let complex = cfl.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        // BART dimensions (W, H) hold the same bytes as lpnd's row-major [H, W].
        #expect((0..<(32 * 32)).allSatisfy { complex[2 * $0] == real[$0] && complex[2 * $0 + 1] == 0 })
    }
}
