import ArgumentParser
import Foundation
import Support
import LPN
import Reconstruction
import Streaming
import TensorIO

/// A one-value pipeline whose processor returns its input: measures the daemon's own overhead.
struct NullBackend: PipelineBackend {
    var interface: PipelineInterface {
        PipelineInterface(name: "null", measurementShape: [1], measurementDType: .float32, imageShape: [1])
    }

    func makeProcessor() throws -> any FrameProcessor { NullProcessor() }

    final class NullProcessor: FrameProcessor {
        func cancel() {}  // every frame returns at once: nothing to stop

        func process(_ frame: InboundFrame) throws -> ProcessedFrame {
            ProcessedFrame(image: frame.measurement, imageShape: [1],
                           convergence: ConvergenceSummary(iterations: 0, converged: true, stopReason: "none",
                                                           finalRelativeChange: nil, finalResidual: nil),
                           diagnosticsJSON: Array("{}".utf8))
        }
    }
}
