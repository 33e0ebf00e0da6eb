import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// The parts of an MRD XML header (ismrmrdHeader) lpnd reads: the first encoding's encoded and
/// reconstructed matrix sizes and the receiver channel count (checked against the pipeline),
/// the phase-encode limits and acceleration factor (a frame's expected lines) and the
/// reconstructed field of view (the images' header).
public struct MRDXMLHeader: Sendable, Equatable {
    /// encoding/encodedSpace/matrixSize x, y (readout samples, phase-encode lines).
    public var encodedX: Int, encodedY: Int
    /// encoding/reconSpace/matrixSize x, y.
    public var reconX: Int, reconY: Int
    /// acquisitionSystemInformation/receiverChannels, when given.
    public var receiverChannels: Int?
    /// encoding/reconSpace/fieldOfView_mm x, y, z (zeros when absent).
    public var fieldOfView: [Float] = [0, 0, 0]
    /// encoding/encodingLimits/kspace_encoding_step_1 minimum and maximum, when given.
    public var step1Limits: ClosedRange<Int>?
    /// encoding/parallelImaging/accelerationFactor/kspace_encoding_step_1, when given.
    public var acceleration: Int?

    public init(encodedX: Int, encodedY: Int, reconX: Int, reconY: Int, receiverChannels: Int?) {
        self.encodedX = encodedX
        self.encodedY = encodedY
        self.reconX = reconX
        self.reconY = reconY
        self.receiverChannels = receiverChannels
    }

    /// Parses the XML; the error names the element that is missing or malformed.
    public static func parse(_ xml: String) -> Result<MRDXMLHeader, MRDMessage.Problem> {
        let collector = Collector()
        let parser = XMLParser(data: Data(xml.utf8))
        parser.delegate = collector
        guard parser.parse() else {
            return .failure(.init(description: "MRD XML header is not well-formed XML (line \(parser.lineNumber))"))
        }
        func value(_ path: String) -> Int? { collector.values[path].flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } }
        let base = "ismrmrdHeader/encoding/"
        var sizes: [Int] = []
        for path in ["encodedSpace/matrixSize/x", "encodedSpace/matrixSize/y", "reconSpace/matrixSize/x", "reconSpace/matrixSize/y"] {
            guard let v = value(base + path), v > 0 else {
                return .failure(.init(description: "MRD XML header: encoding/\(path) is missing or not a positive integer"))
            }
            sizes.append(v)
        }
        var header = MRDXMLHeader(encodedX: sizes[0], encodedY: sizes[1], reconX: sizes[2], reconY: sizes[3],
                                  receiverChannels: value("ismrmrdHeader/acquisitionSystemInformation/receiverChannels"))
        header.fieldOfView = ["x", "y", "z"].map { axis in
            collector.values[base + "reconSpace/fieldOfView_mm/" + axis].flatMap { Float($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
        }
        if let low = value(base + "encodingLimits/kspace_encoding_step_1/minimum"),
           let high = value(base + "encodingLimits/kspace_encoding_step_1/maximum"), 0 <= low, low <= high, high <= 65535 {
            header.step1Limits = low...high
        }
        header.acceleration = value(base + "parallelImaging/accelerationFactor/kspace_encoding_step_1").flatMap { $0 >= 1 ? $0 : nil }
        return .success(header)
    }

    /// Collects the text of the first element at each path (the first encoding wins).
    private final class Collector: NSObject, XMLParserDelegate {
        var path: [String] = []
        var values: [String: String] = [:]
        var text = ""

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            path.append(name)
            text = ""
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            let key = path.joined(separator: "/")
            if values[key] == nil { values[key] = text }
            path.removeLast()
            text = ""
        }
    }
}
