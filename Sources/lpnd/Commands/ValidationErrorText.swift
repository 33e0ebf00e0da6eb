import Foundation
import Support
import Reconstruction
import Streaming
import TensorIO

struct ValidationErrorText: Error, CustomStringConvertible {
    let description: String
    init(_ text: String) { description = text }
}
