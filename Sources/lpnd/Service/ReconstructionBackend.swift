import Foundation
import Support
import Reconstruction
import Streaming
import TensorIO

/// Puts a reconstruction ``Pipeline`` behind the daemon's ``PipelineBackend`` seam.
struct ReconstructionBackend: PipelineBackend {
    let pipeline: Pipeline
    /// Threads each worker's frame may use (``Pipeline/makeReconstructor(threads:)``).
    var threads = 1
    /// Each stream's last solver state, shared by this pipeline's workers (warm start); a
    /// reload builds a new backend, so every stream starts cold again.
    let streams = StreamStates()

    var interface: PipelineInterface {
        var mrd: MRDExpectation? = nil
        if pipeline.input == .mrd, let k = pipeline.kspace {
            mrd = MRDExpectation(coils: k.planes, height: k.height, width: k.width, readoutLength: k.readoutLength,
                                 minimumCentralRows: CoilMapEstimator.minimumCalibrationRows)
        }
        // MRI measurements may name the rows they sampled (`lines`, a dynamic stream's pattern).
        let lineRows = pipeline.input == .mrd || pipeline.operatorSpec.typeName != "mri" ? nil
            : pipeline.kspace?.height ?? pipeline.imageShape[0]
        return PipelineInterface(name: pipeline.name, measurementShape: pipeline.measurementShape,
                                 measurementDType: pipeline.measurementType == .complex64 ? .complex64 : .float32,
                                 imageShape: pipeline.imageShape, mrd: mrd, lineRows: lineRows)
    }

    func makeProcessor() throws -> any FrameProcessor {
        ReconstructionProcessor(pipeline: pipeline, reconstructor: try pipeline.makeReconstructor(threads: threads, streams: streams))
    }
}

/// One worker's reconstructor; maps reconstruction errors to wire error codes.
final class ReconstructionProcessor: FrameProcessor {
    let pipeline: Pipeline
    let reconstructor: Reconstructor

    init(pipeline: Pipeline, reconstructor: Reconstructor) {
        self.pipeline = pipeline
        self.reconstructor = reconstructor
    }

    func cancel() { reconstructor.cancel() }

    func process(_ frame: InboundFrame) throws -> ProcessedFrame {
        let measurement = Reconstruction.Measurement(shape: frame.header.shape,
                                      type: frame.header.dtype == .complex64 ? .complex64 : .float32,
                                      values: frame.measurement, sampledRows: frame.sampledRows,
                                      missingLines: frame.mrd?.missingLines ?? 0)
        let reference = frame.reference.map { Tensor(shape: pipeline.imageShape, data: $0) }
        let result: ReconstructionResult
        do {
            result = try reconstructor.reconstruct(measurement, reference: reference, stream: frame.header.stream,
                                                   seq: frame.header.seq)
        } catch let error as ReconstructionError {
            switch error {
            case .diverged: throw FrameFailure(.diverged, error.description)
            case .shapeMismatch: throw FrameFailure(.shapeMismatch, error.description)
            case .typeMismatch: throw FrameFailure(.dtypeMismatch, error.description)
            case .nonFinite: throw FrameFailure(.nonFinite, error.description)
            case .cancelled: throw FrameFailure(.drainTimeout, "drain timeout: reconstruction \(error.description)")
            default: throw FrameFailure(.reconstructionFailed, error.description)
            }
        }
        let d = result.diagnostics
        let summary = ConvergenceSummary(iterations: d.iterations, converged: d.converged, stopReason: d.stopReason.rawValue,
                                         finalRelativeChange: d.records.last?.relativeChange, finalResidual: d.finalResidual)
        return ProcessedFrame(image: result.image.data, imageShape: result.image.shape, convergence: summary,
                              diagnosticsJSON: JSONWriter.bytes(d), psnr: d.psnr, ssim: d.ssim,
                              flags: d.flags.map(\.rawValue),
                              prior: d.priorCheck.map { PriorSummary(phi: $0.phi, displacement: $0.displacement,
                                                                     phiRange: $0.phiRange, displacementRange: $0.displacementRange) },
                              check: d.check.map { CheckSummary(folds: $0.folds, differenceDB: $0.differenceDB, marginDB: $0.marginDB,
                                                                priorError: $0.priorError, referenceError: $0.referenceError) },
                              choice: d.choice.map { ChoiceSummary(prior: $0.chosen.rawValue, switched: $0.switched, checked: $0.checked) },
                              proxSeconds: d.records.isEmpty ? nil : d.records.reduce(0) { $0 + ($1.proxSeconds ?? 0) },
                              intensityScale: d.intensityScale)
    }
}
