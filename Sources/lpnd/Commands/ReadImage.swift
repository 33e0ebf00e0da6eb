import ArgumentParser
import Foundation
import LPN
import Reconstruction
import TensorIO

/// Reads an image for a pipeline: .png or .npy; [1, H, W] is accepted for [H, W].
func readImage(_ path: String) throws -> Tensor {
    var t = try TensorFiles.read(path)
    if t.shape.count == 3 && t.shape[0] == 1 { t = Tensor(shape: Array(t.shape.dropFirst()), data: t.data) }
    return t
}
