import CMRD
import Foundation
import Streaming

/// `lpnd listen --mrd FILE`: MRD image messages (``MRDImageMessage``) appended to an
/// ISMRMRD HDF5 file through libismrmrd, group `dataset`, image variable `images` (what the
/// `ismrmrd` package reads with `Dataset(FILE).read_image("images", i)`).
final class MRDImageFile: @unchecked Sendable {  // safe: written only by the thread that runs its listener
    let path: String
    static let group = "dataset", variable = "images"
    private let file: OpaquePointer
    private(set) var count = 0

    init(path: String) throws {
        guard let file = lpnd_mrd_create(path, Self.group) else {
            throw ValidationErrorText("--mrd \(path): cannot create or open it as an ISMRMRD HDF5 file")
        }
        self.path = path
        self.file = file
    }

    deinit { lpnd_mrd_close(file) }

    /// Appends one image message (id 1022 and its body).
    func append(message: [UInt8]) throws {
        let header = 2, attributesAt = header + MRDImageMessage.headerBytes, dataAt = attributesAt + 8
        guard message.count >= dataAt, message[0] == 0xFE, message[1] == 0x03 else {
            throw ValidationErrorText("\(path): not an MRD image message (\(message.count) bytes)")
        }
        let announced = (0..<8).reduce(UInt64(0)) { $0 | UInt64(message[attributesAt + $1]) << (8 * UInt64($1)) }
        guard announced <= UInt64(message.count - dataAt) else {
            throw ValidationErrorText("\(path): an MRD image message's attributes run past its end")
        }
        let attributeLength = Int(announced)
        let status = message.withUnsafeBufferPointer { bytes in
            let base = bytes.baseAddress!
            return base.advanced(by: dataAt).withMemoryRebound(to: CChar.self, capacity: attributeLength) { attributes in
                lpnd_mrd_append_image(file, Self.variable, base.advanced(by: header), attributes, attributeLength,
                                      base.advanced(by: dataAt + attributeLength), message.count - dataAt - attributeLength)
            }
        }
        guard status == 0 else { throw ValidationErrorText("\(path): libismrmrd could not append image \(count + 1)") }
        count += 1
    }
}
