import Foundation

/// A reconstructed MRD frame as the MRD image message lpnd answers with (docs/PROTOCOL.md §9):
/// the magnitude in the measurement's units (the image times the frame's intensity scale), the
/// frame's counters and geometry, its seq as the image index, and the diagnostics as meta
/// attributes (`lpnd.*`).
enum MRDReply {
    /// The image series lpnd's images belong to.
    static let seriesIndex = 1

    static func image(_ frame: InboundFrame, _ result: ProcessedFrame, pipeline: String) -> [UInt8] {
        let scale = Float(result.intensityScale ?? 1)
        let image = scale == 1 ? result.image.map { abs($0) } : result.image.map { abs($0) * scale }
        let c = result.convergence
        var attributes: [(String, String)] = [
            ("lpnd.pipeline", pipeline), ("lpnd.stream", frame.header.stream), ("lpnd.seq", String(frame.header.seq)),
            ("lpnd.iterations", String(c.iterations)), ("lpnd.converged", String(c.converged)), ("lpnd.stop_reason", c.stopReason),
            ("lpnd.flags", result.flags.joined(separator: ",")),
            ("lpnd.intensity_scale", String(result.intensityScale ?? 1)),
            ("lpnd.sampled_lines", String(frame.sampledRows?.count ?? 0)),
            ("lpnd.missing_lines", String(frame.mrd?.missingLines ?? 0)),
        ]
        if let residual = c.finalResidual { attributes.append(("lpnd.final_residual", String(residual))) }
        if let choice = result.choice { attributes.append(("lpnd.prior", choice.prior)) }
        let (height, width) = (result.imageShape[0], result.imageShape[1])
        return MRDImageMessage.encode(image: image, height: height, width: width, info: frame.mrd ?? MRDFrameInfo(),
                                      imageIndex: Int(frame.header.seq) + 1, seriesIndex: seriesIndex, attributes: attributes)
    }
}
