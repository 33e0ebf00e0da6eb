import Foundation
import Support
import Reconstruction
import Streaming
import TensorIO

/// `lpnd send`'s engine: images (from files or phantoms) → measurements through the pipeline's
/// own operator → sequence-numbered messages on a PUSH (or PUB) socket.
struct AcquisitionSimulator {
    var pipeline: Pipeline
    var endpoint: String
    var bind = false
    var publish = false
    var stream = "s0"
    var count = 10
    /// Frames per second; nil = as fast as the daemon accepts.
    var rate: Double?
    var attachReference = true
    var noise: Float?
    var seed: UInt64 = 1
    var imageDirectory: String?
    var curve: CurveClient?
    /// The daemon's PUB endpoint: wait for its answer (a frame or an error event) to every frame.
    var confirm: String?
    /// With `confirm`: seconds without any answer after which the frames still unanswered
    /// count as not accepted.
    var answerTimeout: Double = 120
    /// A dynamic sequence of the first image (``DynamicSequence``) with this sampling, instead
    /// of cycling through the images unchanged.
    var dynamic: DynamicSequence.Sampling?
    /// With `dynamic`: a scene cut every this many frames (the next image becomes the base:
    /// another object, slice or contrast), as a stream that changes what it shows.
    var sceneCut: Int?

    struct Report {
        var sent: Int
        var seconds: Double
        var bytes: Int
        /// With `confirm`: what the daemon answered.
        var answers: DeliveryCheck.Answers?
        var framesPerSecond: Double { Double(sent) / max(seconds, 1e-9) }
    }

    /// The distinct images that are cycled through (at most 16 are simulated up front).
    func images() throws -> [Tensor] {
        let shape = pipeline.imageShape
        let (h, w) = (shape[shape.count - 2], shape[shape.count - 1])
        if let directory = imageDirectory {
            let names = try FileManager.default.contentsOfDirectory(atPath: directory)
                .filter { $0.hasSuffix(".png") || $0.hasSuffix(".npy") }.sorted()
            guard !names.isEmpty else { throw ValidationErrorText("\(directory): no .png or .npy images") }
            return try names.prefix(16).map { name in
                let image = try TensorFiles.read(directory + "/" + name)
                guard image.count == h * w else {
                    throw ValidationErrorText("\(directory)/\(name): shape \(image.shape), pipeline '\(pipeline.name)' needs \(h)×\(w)")
                }
                return Tensor(shape: shape, data: image.data)
            }
        }
        return (0..<(dynamic == nil || sceneCut != nil ? min(count, 16) : 1)).map {
            Tensor(shape: shape, data: Phantom.make(height: h, width: w, seed: seed &+ UInt64($0)).data)
        }
    }

    /// Frame `i` of the stream: its measurement (with its `lines` when the sampling changes
    /// per frame) and its ground truth. Static streams cycle through at most 16 images
    /// simulated once; dynamic ones make every frame.
    func frames() throws -> (Int) throws -> (Reconstruction.Measurement, Tensor) {
        let pictures = try images()
        let noiseLevel = noise ?? Float(pipeline.simulationNoise)
        if let dynamic {
            let sequences = pictures.map { DynamicSequence(base: $0, sampling: dynamic) }
            let pattern = try linePattern(dynamic)
            let cut = sceneCut ?? Int.max
            return { i in
                let image = sequences[(i / cut) % sequences.count].image(i)
                let lines = pattern(i)
                return (try pipeline.simulate(image: image, noise: noiseLevel, seed: seed &+ 1000 &+ UInt64(i), lines: lines), image)
            }
        }
        let messages: [(Reconstruction.Measurement, Tensor)] = try pictures.enumerated().map { i, image in
            (try pipeline.simulate(image: image, noise: noiseLevel, seed: seed &+ 1000 &+ UInt64(i)), image)
        }
        return { i in messages[i % messages.count] }
    }

    /// The rows of frame `i` in the pipeline's k-space layout (nil: the pipeline's own mask).
    private func linePattern(_ sampling: DynamicSequence.Sampling) throws -> (Int) -> [Int]? {
        guard sampling != .fixed else { return { _ in nil } }
        guard case .mri(let mask, let acceleration, let centerFraction, _, _) = pipeline.operatorSpec else {  // single coil
            throw ValidationErrorText("--sampling \(sampling.rawValue): pipeline '\(pipeline.name)' is not single-coil MRI (its sampling is fixed)")
        }
        let h = mask.height
        let r = acceleration ?? Double(h) / Double(max(1, mask.lines.count))
        let centre = centerFraction ?? 0.08
        let centred = pipeline.kspace?.layout == .centered
        return { i in
            DynamicSequence.lines(i, sampling: sampling, height: h, acceleration: r, centerFraction: centre)?
                .map { centred ? $0 : ($0 - h / 2 + h) % h }.sorted()
        }
    }

    /// Sends `count` frames; `ready` is called once the socket is connected, before the first.
    func run(context: ZMQContext = ZMQContext(), ready: (() -> Void)? = nil) throws -> Report {
        let frame = try frames()
        let check = try confirm.map { try DeliveryCheck(context: context, publish: $0, stream: stream, curve: curve, answers: true) }
        defer { check?.close() }
        let socket = try ZMQSocket(context: context, kind: publish ? .pub : .push)
        defer { socket.close(linger: 5000) }
        try curve?.apply(to: socket)
        if bind { try socket.bind(endpoint) } else { try socket.connect(endpoint) }
        // With confirmation: a ping → pong first, so the subscription is live before any answer.
        try check?.require(through: socket)
        ready?()
        var bytes = 0
        let start = MonotonicClock.seconds()
        for i in 0..<count {
            if let rate {
                let wait = start + Double(i) / rate - MonotonicClock.seconds()
                if wait > 0 { usleep(useconds_t(wait * 1e6)) }  // pacing, not synchronisation
            }
            let (measurement, image) = try frame(i)
            let header = MeasurementHeader(stream: stream, seq: UInt64(i), timestamp: Date().timeIntervalSince1970,
                                           pipeline: pipeline.name, shape: measurement.shape,
                                           dtype: measurement.type == .complex64 ? .complex64 : .float32,
                                           lines: measurement.sampledRows)
            let parts = try WireProtocol.measurementMessage(header, measurement: measurement.values,
                                                            reference: attachReference ? image.data : nil)
            bytes += parts.reduce(0) { $0 + $1.count }
            try socket.send(parts)
        }
        let seconds = (MonotonicClock.seconds() - start)
        let answers = try check?.answers(for: (0..<UInt64(count)).map { $0 }, through: socket, idleTimeout: answerTimeout)
        return Report(sent: count, seconds: seconds, bytes: bytes, answers: answers)
    }
}
