import CMRD
import Foundation
import Support
import Streaming

/// `lpnd send --mrd`: streams an MRD (ISMRMRD) HDF5 file, read with libismrmrd, to an
/// `input: mrd` pipeline: the XML header, then every acquisition in file order, one message
/// each, then a close message (docs/PROTOCOL.md §8).
struct MRDFileSender {
    var path: String
    var group = "dataset"
    var pipeline: String
    var stream: String
    var endpoint: String
    var bind = false
    var pubSocket = false
    var curve: CurveClient?
    /// The daemon's PUB endpoint: when given, the sender waits for the daemon to confirm it
    /// has read every message (``DeliveryCheck``) before it exits.
    var publish: String?

    struct Report {
        var acquisitions: Int
        var seconds: Double
        var bytes: Int
    }

    func run() throws -> Report {
        let context = ZMQContext()
        // Terminating the context waits (up to the socket's linger) until every queued message
        // has gone out; declared first, so it runs after the socket's close.
        defer { context.terminate() }
        guard let file = lpnd_mrd_open(path, group) else {
            throw ValidationErrorText("\(path): cannot open as an MRD/ISMRMRD HDF5 file with group '\(group)'")
        }
        defer { lpnd_mrd_close(file) }
        guard let xml = lpnd_mrd_header(file) else {
            throw ValidationErrorText("\(path): the MRD group '\(group)' has no XML header")
        }
        let check = try publish.map { try DeliveryCheck(context: context, publish: $0, stream: stream, curve: curve) }
        defer { check?.close() }
        let socket = try ZMQSocket(context: context, kind: pubSocket ? .pub : .push)
        defer { socket.close(linger: 5000) }
        try curve?.apply(to: socket)
        if bind { try socket.bind(endpoint) } else { try socket.connect(endpoint) }
        let start = MonotonicClock.seconds()
        var bytes = 0
        func send(_ body: [UInt8]) throws {
            let parts = try WireProtocol.mrdMessage(stream: stream, pipeline: pipeline, body: body)
            bytes += parts.reduce(0) { $0 + $1.count }
            try socket.send(parts)
        }
        try send(MRDMessage.encodeHeader(xml: String(cString: xml)))
        let count = lpnd_mrd_count(file)
        var header = [UInt8](repeating: 0, count: MRDAcquisition.headerBytes)
        for index in 0..<count {
            var trajectory: UnsafePointer<Float>?, data: UnsafePointer<Float>?
            var trajectoryCount = 0, dataCount = 0
            guard lpnd_mrd_read(file, index, &header, &trajectory, &trajectoryCount, &data, &dataCount) == 0 else {
                throw ValidationErrorText("\(path): cannot read acquisition \(index)")
            }
            try send(MRDMessage.encodeAcquisition(
                header: header,
                trajectory: trajectory.map { Array(UnsafeBufferPointer(start: $0, count: trajectoryCount)) } ?? [],
                data: data.map { Array(UnsafeBufferPointer(start: $0, count: dataCount)) } ?? []))
        }
        try send(MRDMessage.encodeClose())
        try check?.require(through: socket)
        return Report(acquisitions: Int(count), seconds: (MonotonicClock.seconds() - start), bytes: bytes)
    }
}
