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
        guard let (header, attributes, data) = MRDImageMessage.split(message) else {
            throw ValidationErrorText("\(path): not an MRD image message (\(message.count) bytes)")
        }
        let status = header.withUnsafeBufferPointer { h in
            attributes.withUnsafeBytes { a in
                data.withUnsafeBytes { d in
                    lpnd_mrd_append_image(file, Self.variable, h.baseAddress!, a.baseAddress?.assumingMemoryBound(to: CChar.self),
                                          a.count, d.baseAddress, d.count)
                }
            }
        }
        guard status == 0 else { throw ValidationErrorText("\(path): libismrmrd could not append image \(count + 1)") }
        count += 1
    }
}
