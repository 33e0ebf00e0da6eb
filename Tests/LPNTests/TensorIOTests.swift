import Foundation
import TensorIO
import Testing

@Suite struct TensorIOTests {
    @Test func npyRoundTrips() throws {
        let path = Fixtures.scratch() + "/t.npy"
        let t = Tensor(shape: [2, 3, 5], data: randomImage(30, seed: 2, range: -4...4))
        try NPY.write(t, path: path)
        #expect(try NPY.read(path: path) == t)
    }

    @Test func npyRejectsUnsupportedData() throws {
        var bytes = NPY.encode(Tensor(shape: [4], data: [1, 2, 3, 4]))
        let text = String(decoding: bytes, as: UTF8.self)
        let range = text.range(of: "<f4")!
        let offset = text.utf8.distance(from: text.startIndex, to: range.lowerBound)
        bytes[offset + 1] = UInt8(ascii: "i")
        #expect(throws: TensorIOError.self) { _ = try NPY.decode(bytes) }
        let truncated = Array(NPY.encode(Tensor(shape: [4], data: [1, 2, 3, 4])).dropLast(3))
        #expect(throws: TensorIOError.self) { _ = try NPY.decode(truncated) }
    }

    /// A Fortran-order complex array (as numpy writes `np.asfortranarray(a)`) reads in C order.
    @Test func npyReadsFortranOrderComplex() throws {
        // a[i, j] = i + 10j + 1 + i·(i − j), shape [2, 3]; column-major payload.
        var values: [Float] = []
        for j in 0..<3 { for i in 0..<2 { values += [Float(i + 10 * j + 1), Float(i - j)] } }
        var text = "{'descr': '<c8', 'fortran_order': True, 'shape': (2, 3), }"
        text += String(repeating: " ", count: 63 - (10 + text.utf8.count) % 64) + "\n"
        let bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(text.utf8.count), 0] + Array(text.utf8)
            + values.withUnsafeBytes { Array($0) }
        let array = try NPY.decodeArray(bytes)
        #expect(array.isComplex && array.shape == [2, 3])
        for i in 0..<2 {
            for j in 0..<3 {
                #expect(array.values[2 * (i * 3 + j)] == Float(i + 10 * j + 1))
                #expect(array.values[2 * (i * 3 + j) + 1] == Float(i - j))
            }
        }
    }

    /// BART's .cfl/.hdr: dimensions reversed (singletons dropped), bytes unchanged.
    @Test func bartFilesRoundTrip() throws {
        let stem = Fixtures.scratch() + "/k"
        let values = randomImage(2 * 4 * 6 * 5, seed: 8, range: -1...1)
        try BARTFile.write(shape: [4, 6, 5], values: values, path: stem + ".cfl", dims: [5, 6, 1, 4])
        let header = try String(contentsOfFile: stem + ".hdr", encoding: .utf8)
        #expect(header.hasPrefix("# Dimensions\n5 6 1 4 1"))
        let back = try BARTFile.read(path: stem)
        #expect(back.shape == [4, 6, 5] && back.values == values && back.isComplex)
    }

    @Test(arguments: [8, 16])
    func pngRoundTripsWithinQuantisation(bits: Int) throws {
        let path = Fixtures.scratch() + "/t.png"
        let t = Tensor(shape: [7, 9], data: randomImage(63, seed: 3))
        try PNGImage.write(t, path: path, bitDepth: bits)
        let back = try PNGImage.read(path: path)
        #expect(back.shape == [7, 9])
        let step: Float = bits == 8 ? 1 / 255 : 1 / 65535
        #expect(zip(back.data, t.data).allSatisfy { abs($0 - $1) <= step / 2 + 1e-6 })
    }

    @Test func pngRejectsGarbage() {
        let path = Fixtures.scratch() + "/bad.png"
        _ = FileManager.default.createFile(atPath: path, contents: Data([1, 2, 3, 4]))
        #expect(throws: TensorIOError.self) { _ = try PNGImage.read(path: path) }
    }
}
