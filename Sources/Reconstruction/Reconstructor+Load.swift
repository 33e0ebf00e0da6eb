import Foundation
import LPN
import TensorIO
import Support

/// A frame's measurement into the reconstructor: checked against the pipeline, converted from
/// the wire's layout into the operator's, and the operator set up for this frame (its own
/// rows, coil maps and intensity scale).
extension Reconstructor {
    func load(_ measurement: Measurement, _ diagnostics: inout FrameDiagnostics) throws {
        guard measurement.type == pipeline.measurementType else {
            throw ReconstructionError.typeMismatch(expected: pipeline.measurementType, got: measurement.type)
        }
        // BART files drop singleton dimensions: [H, W] is accepted for [1, H, W].
        guard measurement.shape.filter({ $0 != 1 }) == pipeline.measurementShape.filter({ $0 != 1 }) else {
            throw ReconstructionError.shapeMismatch(expected: pipeline.measurementShape, got: measurement.shape, what: "the measurement")
        }
        let wireCount = converter?.wireCount ?? op.measurementCount
        guard measurement.values.count == wireCount else {
            throw ReconstructionError.shapeMismatch(expected: [wireCount], got: [measurement.values.count],
                                                    what: "the measurement's value count (floats)")
        }
        if let (i, v) = measurement.values.withUnsafeBufferPointer({ firstNonFinite($0) }) {
            throw ReconstructionError.nonFinite(what: "the measurement", index: i, value: v)
        }
        if measurement.missingLines > 0 { diagnostics.flags.append(.missingLines) }
        if let converter {
            measurement.values.withUnsafeBufferPointer { converter.toOperator($0.baseAddress!, y.pointer) }
        } else {
            measurement.values.withUnsafeBufferPointer { y.copy(from: $0.baseAddress!) }
        }
        // Single-coil MRI: this frame's own rows (`lines`), or the pipeline's mask.
        if let single = op as? MRIOperator {
            if let rows = measurement.sampledRows, let bad = rows.first(where: { $0 < 0 || $0 >= single.fixedMask.height }) {
                throw ReconstructionError.invalidArgument("sampled row \(bad) is outside 0..<\(single.fixedMask.height)")
            }
            single.sample(rows: measurement.sampledRows.map { rows in Set(rows.map { pipeline.kspace?.operatorRow($0) ?? $0 }) })
            if single.imageType == .float32 {
                let fraction = single.imaginaryEnergyFraction(y.pointer)
                diagnostics.imaginaryFraction = fraction
                if fraction > FrameFlag.phaseLimit { diagnostics.flags.append(.phaseDiscarded) }
            }
        }
        // Multi-coil MRI: this frame's mask, coil maps and intensity scale.
        if let multiCoil = op as? MultiCoilMRIOperator {
            let tCalibration = MonotonicClock.seconds()
            let format = pipeline.kspace!
            if let rows = measurement.sampledRows, let bad = rows.first(where: { $0 < 0 || $0 >= format.height }) {
                throw ReconstructionError.invalidArgument("sampled row \(bad) is outside 0..<\(format.height)")
            }
            let rows = measurement.sampledRows.map { Set($0.map(format.operatorRow)) }
            let scale = try multiCoil.calibrate(kspace: y.pointer, sampledRows: rows)
            if multiCoil.normalize { diagnostics.intensityScale = scale }
            diagnostics.stageSeconds["calibration"] = MonotonicClock.seconds() - tCalibration
        }
    }

    /// The reference image's values (for PSNR/SSIM), checked against the image shape.
    func referenceValues(_ reference: Tensor?) throws -> [Float]? {
        guard let reference else { return nil }
        let expected = pipeline.imageType == .complex64 ? pipeline.imageShape + [2] : pipeline.imageShape
        guard reference.shape == expected
            || (reference.shape.count == 3 && reference.shape[0] == 1 && Array(reference.shape.dropFirst()) == expected) else {
            throw ReconstructionError.shapeMismatch(expected: expected, got: reference.shape, what: "the reference image")
        }
        return reference.data
    }
}
