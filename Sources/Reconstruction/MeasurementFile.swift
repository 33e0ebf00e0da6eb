import Foundation
import TensorIO

/// Measurements on disk, chosen by extension:
/// - `.npy`: float32 `<f4` (float64 `<f8` accepted on read) or complex64 `<c8` (complex128
///   `<c16` accepted on read), C or Fortran order, shape = the measurement's shape;
/// - `.cfl`/`.hdr` (or the stem): BART's complex files, dimensions reversed to lpnd's row-major
///   shape with singleton dimensions dropped (``BARTFile``): BART k-space (X, Y, 1, C) is
///   lpnd's [C, H = Y, W = X]. Written with coils in BART's coil dimension (3).
public enum MeasurementFile {
    static func isBART(_ path: String) -> Bool {
        ["cfl", "hdr"].contains((path as NSString).pathExtension.lowercased())
    }

    public static func read(path: String) throws -> Measurement {
        let array: NPY.Array
        do {
            array = isBART(path) ? try BARTFile.read(path: path) : try NPY.readArray(path: path)
        } catch let error as TensorIOError {
            throw ReconstructionError.invalidFile(path: path, reason: "\(error)")
        }
        return Measurement(shape: array.shape, type: array.isComplex ? .complex64 : .float32, values: array.values)
    }

    public static func write(_ m: Measurement, path: String) throws {
        do {
            if isBART(path) {
                let values = m.type == .complex64 ? m.values : m.values.flatMap { [$0, 0] }
                try BARTFile.write(shape: m.shape, values: values, path: path, dims: bartDimensions(m.shape))
                return
            }
            switch m.type {
            case .float32: try NPY.write(Tensor(shape: m.shape, data: m.values), path: path)
            case .complex64: try NPY.writeComplex(shape: m.shape, values: m.values, path: path)
            }
        } catch let error as TensorIOError {
            throw ReconstructionError.invalidFile(path: path, reason: "\(error)")
        }
    }

    /// BART's dimensions for an lpnd shape: [H, W] → (W, H); [C, H, W] → (W, H, 1, C).
    static func bartDimensions(_ shape: [Int]) -> [Int] {
        shape.count == 3 ? [shape[2], shape[1], 1, shape[0]] : Array(shape.reversed())
    }

    /// Writes int64 indices (`<i8`).
    public static func writeIndices(_ values: [Int], shape: [Int], path: String) throws {
        do { try NPY.writeIndices(values, shape: shape, path: path) } catch let error as TensorIOError {
            throw ReconstructionError.invalidFile(path: path, reason: "\(error)")
        }
    }
}
