import Foundation

/// BART's file pair `name.hdr` + `name.cfl`: the header is a comment line (`# Dimensions`) and
/// one line of dimensions (BART writes 16, trailing ones may be dropped); the `.cfl` holds
/// complex64 values in column-major (Fortran) order, the first dimension fastest.
///
/// lpnd arrays are row-major, so a BART array of dimensions (d0, d1, …, dk) (trailing 1s
/// dropped) is an lpnd array of shape [dk, …, d1, d0] with the same bytes: BART's k-space
/// (readout, phase, 1, coils) is lpnd's [coils, 1, phase, readout] — squeeze the 1s to get
/// [coils, H, W]. `path` may name either file or the common stem.
public enum BARTFile {
    /// Stem of a path: without a `.cfl` or `.hdr` extension.
    public static func stem(_ path: String) -> String {
        let ext = (path as NSString).pathExtension.lowercased()
        return ext == "cfl" || ext == "hdr" ? (path as NSString).deletingPathExtension : path
    }

    /// Reads a BART array; returns the row-major shape with singleton dimensions dropped.
    public static func read(path: String) throws -> NPY.Array {
        let base = stem(path)
        guard let headerData = FileManager.default.contents(atPath: base + ".hdr") else {
            throw TensorIOError(path: base + ".hdr", "cannot read BART header")
        }
        let lines = String(decoding: headerData, as: UTF8.self).split(separator: "\n")
        guard let index = lines.firstIndex(where: { $0.hasPrefix("# Dimensions") }), index + 1 < lines.count else {
            throw TensorIOError(path: base + ".hdr", "no '# Dimensions' line")
        }
        let dims = try lines[index + 1].split(separator: " ").map { part -> Int in
            guard let d = Int(part), d >= 1 else {
                throw TensorIOError(path: base + ".hdr", "dimension '\(part)' is not a positive integer")
            }
            return d
        }
        let count = dims.reduce(1, *)
        guard let data = FileManager.default.contents(atPath: base + ".cfl") else {
            throw TensorIOError(path: base + ".cfl", "cannot read BART data")
        }
        guard data.count == 8 * count else {
            throw TensorIOError(path: base + ".cfl", "has \(data.count) bytes; dimensions \(dims) need \(8 * count)")
        }
        var values = [Float](repeating: 0, count: 2 * count)
        values.withUnsafeMutableBytes { _ = data.copyBytes(to: $0) }
        let shape = Array(dims.filter { $0 != 1 }.reversed())
        return NPY.Array(shape: shape.isEmpty ? [1] : shape, values: values, isComplex: true, descr: "cfl")
    }

    /// Writes a complex array of row-major `shape` as BART dimensions reversed (padded to 16
    /// with ones); the bytes are unchanged. `dims` overrides the BART dimensions (e.g. to put
    /// coils in BART's coil dimension 3).
    public static func write(shape: [Int], values: [Float], path: String, dims: [Int]? = nil) throws {
        precondition(values.count == 2 * shape.reduce(1, *))
        var d = dims ?? Array(shape.reversed())
        precondition(d.reduce(1, *) == shape.reduce(1, *))
        while d.count < 16 { d.append(1) }
        let base = stem(path)
        let header = "# Dimensions\n" + d.map(String.init).joined(separator: " ") + "\n"
        guard FileManager.default.createFile(atPath: base + ".hdr", contents: Data(header.utf8)) else {
            throw TensorIOError(path: base + ".hdr", "cannot write file")
        }
        guard FileManager.default.createFile(atPath: base + ".cfl", contents: values.withUnsafeBytes { Data($0) }) else {
            throw TensorIOError(path: base + ".cfl", "cannot write file")
        }
    }
}
