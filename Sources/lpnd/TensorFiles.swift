import Foundation
import LPN
import TensorIO

/// Reads and writes tensors by file extension: `.npy` (float32/float64) or `.png` (grayscale).
enum TensorFiles {
    static func read(_ path: String) throws -> Tensor {
        switch (path as NSString).pathExtension.lowercased() {
        case "npy": return try NPY.read(path: path)
        case "png": return try PNGImage.read(path: path)
        default: throw TensorIOError(path: path, "unknown extension: expected .npy or .png")
        }
    }

    static func write(_ tensor: Tensor, to path: String, pngBits: Int = 8) throws {
        switch (path as NSString).pathExtension.lowercased() {
        case "npy": try NPY.write(tensor, path: path)
        case "png": try PNGImage.write(tensor, path: path, bitDepth: pngBits)
        default: throw TensorIOError(path: path, "unknown extension: expected .npy or .png")
        }
    }
}
