import Foundation
import LPN
import TensorIO

/// Reads and writes images by file extension: `.npy` (float32/float64), `.png` (grayscale), or
/// BART's `.cfl`/`.hdr` (read: the magnitude of the complex values, dimensions reversed to
/// row-major with singletons dropped; write: the real image as complex, BART dimensions
/// (W, H, …)). A complex image [H, W, 2] is written to `.cfl` as complex [H, W].
enum TensorFiles {
    static func read(_ path: String) throws -> Tensor {
        switch (path as NSString).pathExtension.lowercased() {
        case "npy": return try NPY.read(path: path)
        case "png": return try PNGImage.read(path: path)
        case "cfl", "hdr":
            let array = try BARTFile.read(path: path)
            let v = array.values
            var magnitude = [Float](repeating: 0, count: v.count / 2)
            for i in 0..<magnitude.count {
                let re = v[2 * i], im = v[2 * i + 1]
                magnitude[i] = (re * re + im * im).squareRoot()
            }
            return Tensor(shape: array.shape, data: magnitude)
        default: throw TensorIOError(path: path, "unknown extension: expected .npy, .png or .cfl")
        }
    }

    static func write(_ tensor: Tensor, to path: String, pngBits: Int = 8) throws {
        switch (path as NSString).pathExtension.lowercased() {
        case "npy": try NPY.write(tensor, path: path)
        case "png": try PNGImage.write(tensor, path: path, bitDepth: pngBits)
        case "cfl", "hdr":
            if tensor.shape.last == 2 && tensor.shape.count == 3 {
                try BARTFile.write(shape: Array(tensor.shape.dropLast()), values: tensor.data, path: path)
            } else {
                try BARTFile.write(shape: tensor.shape, values: tensor.data.flatMap { [$0, 0] }, path: path)
            }
        default: throw TensorIOError(path: path, "unknown extension: expected .npy, .png or .cfl")
        }
    }
}
