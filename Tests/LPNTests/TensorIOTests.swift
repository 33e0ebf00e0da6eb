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
