import CPNG
import Foundation

/// Grayscale PNG in and out through libpng's simplified API (which reports errors by return
/// value, never by longjmp through Swift frames).
///
/// Pixel values map to [0, 1]: v / 255 for 8-bit, v / 65535 for 16-bit files. Colour files are
/// converted to gray by libpng. On write, values are clipped to [0, 1] and rounded.
public enum PNGImage {
    // libpng's PNG_FORMAT_GRAY and PNG_FORMAT_LINEAR_Y (16-bit, no gamma transform).
    private static let formatGray8: UInt32 = 0
    private static let formatGray16: UInt32 = 0x04
    private static let imageVersion: UInt32 = 1

    /// Reads a PNG file into a tensor of shape [H, W].
    public static func read(path: String) throws -> Tensor {
        var image = png_image()
        image.version = imageVersion
        guard png_image_begin_read_from_file(&image, path) != 0 else {
            throw TensorIOError(path: path, "cannot read PNG: \(message(of: &image))")
        }
        defer { png_image_free(&image) }
        let height = Int(image.height), width = Int(image.width)
        let sixteen = image.format & 0x04 != 0 || bitDepth(of: path) == 16
        image.format = sixteen ? formatGray16 : formatGray8
        var values = [Float](repeating: 0, count: height * width)
        if sixteen {
            var pixels = [UInt16](repeating: 0, count: height * width)
            let ok = pixels.withUnsafeMutableBytes {
                png_image_finish_read(&image, nil, $0.baseAddress, Int32(width), nil)
            }
            guard ok != 0 else { throw TensorIOError(path: path, "cannot decode PNG: \(message(of: &image))") }
            for i in 0..<pixels.count { values[i] = Float(pixels[i]) / 65535 }
        } else {
            var pixels = [UInt8](repeating: 0, count: height * width)
            let ok = pixels.withUnsafeMutableBytes {
                png_image_finish_read(&image, nil, $0.baseAddress, Int32(width), nil)
            }
            guard ok != 0 else { throw TensorIOError(path: path, "cannot decode PNG: \(message(of: &image))") }
            for i in 0..<pixels.count { values[i] = Float(pixels[i]) / 255 }
        }
        return Tensor(shape: [height, width], data: values)
    }

    /// Writes a [H, W] (or [1, H, W], [1, 1, H, W]) tensor as a grayscale PNG.
    public static func write(_ tensor: Tensor, path: String, bitDepth: Int = 8) throws {
        let bytes = try encode(tensor, bitDepth: bitDepth, path: path)
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            throw TensorIOError(path: path, "cannot write file")
        }
    }

    /// Encodes a [H, W] (or [1, H, W], [1, 1, H, W]) tensor as PNG bytes in memory.
    public static func encode(_ tensor: Tensor, bitDepth: Int = 8, path: String = "<png>") throws -> [UInt8] {
        let dims = tensor.shape.drop { $0 == 1 && tensor.shape.count > 2 }
        guard dims.count == 2, tensor.shape.count <= 4 else {
            throw TensorIOError(path: path, "PNG output needs one grayscale image, got shape \(tensor.shape)")
        }
        guard bitDepth == 8 || bitDepth == 16 else {
            throw TensorIOError(path: path, "PNG bit depth must be 8 or 16, got \(bitDepth)")
        }
        let height = dims[dims.startIndex], width = dims[dims.startIndex + 1]
        var image = png_image()
        image.version = imageVersion
        image.width = UInt32(width)
        image.height = UInt32(height)
        image.format = bitDepth == 16 ? formatGray16 : formatGray8
        let scale: Float = bitDepth == 16 ? 65535 : 255
        var size = 0
        var result: [UInt8] = []
        func quantized(_ v: Float) -> Float { (min(max(v.isNaN ? 0 : v, 0), 1) * scale).rounded() }
        let run: (UnsafeRawPointer, Int32) throws -> Void = { buffer, stride in
            guard png_image_write_get_memory_size_wrapper(&image, &size, buffer, stride) else {
                throw TensorIOError(path: path, "cannot encode PNG: \(message(of: &image))")
            }
            result = [UInt8](repeating: 0, count: size)
            var written = size
            let ok = result.withUnsafeMutableBytes {
                png_image_write_to_memory(&image, $0.baseAddress, &written, 0, buffer, stride, nil)
            }
            guard ok != 0 else { throw TensorIOError(path: path, "cannot encode PNG: \(message(of: &image))") }
            result.removeLast(size - written)
        }
        if bitDepth == 16 {
            let pixels = tensor.data.map { UInt16(quantized($0)) }
            try pixels.withUnsafeBytes { try run($0.baseAddress!, Int32(width)) }
        } else {
            let pixels = tensor.data.map { UInt8(quantized($0)) }
            try pixels.withUnsafeBytes { try run($0.baseAddress!, Int32(width)) }
        }
        return result
    }

    /// libpng's size query: png_image_write_to_memory with a null buffer. Row strides in this
    /// API count samples, not bytes.
    private static func png_image_write_get_memory_size_wrapper(
        _ image: inout png_image, _ size: inout Int, _ buffer: UnsafeRawPointer, _ stride: Int32
    ) -> Bool {
        png_image_write_to_memory(&image, nil, &size, 0, buffer, stride, nil) != 0
    }

    private static func message(of image: inout png_image) -> String {
        withUnsafeBytes(of: &image.message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    /// The bit depth byte of the IHDR chunk (offset 24), or nil if unreadable.
    private static func bitDepth(of path: String) -> Int? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let head = try? handle.read(upToCount: 25), head.count == 25 else { return nil }
        return Int(head[24])
    }
}
