import Foundation
import LPN
import Reconstruction
import TensorIO
import Testing

@Suite struct MultiCoilMRITests {
    static let mask = MRIMask.lines(height: 24, width: 20, acceleration: 3, centerFraction: 0.3, seed: 2)
    static let maps = CoilMaps.simulated(coils: 4, height: 24, width: 20, seed: 5)

    @Test func adjointRealAndComplexImages() {
        for type in [SampleType.float32, .complex64] {
            let op = MultiCoilMRIOperator(coils: 4, mask: Self.mask, source: .given(Self.maps), imageType: type)
            #expect(adjointMismatch(op, seed: 20) < 1e-5)
        }
    }

    /// Coils shared out over threads give the same bits as one thread.
    @Test func threadsGiveIdenticalResults() {
        for type in [SampleType.float32, .complex64] {
            let one = MultiCoilMRIOperator(coils: 4, mask: Self.mask, source: .given(Self.maps), imageType: type)
            let three = MultiCoilMRIOperator(coils: 4, mask: Self.mask, source: .given(Self.maps), imageType: type, threads: 3)
            let x = randomVector(one.imageCount, seed: 30), y = randomVector(one.measurementCount, seed: 31)
            #expect(one.forward(x) == three.forward(x))
            #expect(one.adjoint(y) == three.adjoint(y))
        }
    }

    /// Σ|S_c|² = 1, so under full sampling AᴴA = I.
    @Test func fullSamplingNormalIsIdentity() {
        let full = MRIMask(height: 24, width: 20, values: [Float](repeating: 1, count: 480))
        let op = MultiCoilMRIOperator(coils: 4, mask: full, source: .given(Self.maps), imageType: .complex64)
        let x = randomVector(op.imageCount, seed: 3)
        #expect(maxAbsDifference(op.adjoint(op.forward(x)), x) < 1e-4)
    }

    /// The wire form round-trips, and centred k-space puts DC at (H/2, W/2) with the image's
    /// sum there (BART's fftc convention).
    @Test func kspaceFormatRoundTripAndCentre() {
        let format = KSpaceFormat(coils: 2, height: 16, width: 12, layout: .centered, readoutOversampling: 2)
        let converter = format.makeConverter()
        // A k-space whose readout image lies in the middle W columns: start from operator data.
        let y = randomVector(converter.operatorCount, seed: 4)
        var wire = [Float](repeating: 0, count: converter.wireCount), back = y
        y.withUnsafeBufferPointer { yp in wire.withUnsafeMutableBufferPointer { converter.fromOperator(yp.baseAddress!, $0.baseAddress!) } }
        wire.withUnsafeBufferPointer { wp in back.withUnsafeMutableBufferPointer { converter.toOperator(wp.baseAddress!, $0.baseAddress!) } }
        #expect(maxAbsDifference(back, y) < 1e-5)

        // A constant real image: unshifted DC at [0, 0] = sum/√N, centred at [H/2, W/2].
        let plain = KSpaceFormat(height: 16, width: 12, layout: .centered).makeConverter()
        let op = MRIOperator(mask: MRIMask(height: 16, width: 12, values: [Float](repeating: 1, count: 192)))
        let k = op.forward([Float](repeating: 1, count: 192))
        var centred = [Float](repeating: 0, count: plain.wireCount)
        k.withUnsafeBufferPointer { kp in centred.withUnsafeMutableBufferPointer { plain.fromOperator(kp.baseAddress!, $0.baseAddress!) } }
        let dc = 2 * (8 * 12 + 6)
        #expect(abs(centred[dc] - Float(192) / Float(192).squareRoot()) < 1e-3)
        #expect(centred.enumerated().filter { $0.offset != dc }.allSatisfy { abs($0.element) < 1e-4 })
    }

    /// Walsh maps from the calibration block agree with the true maps up to a per-pixel phase
    /// on the object, and absorb the object's phase: the fully sampled image is its magnitude.
    @Test func estimatedMapsMatchTheTruthAndRemovePhase() throws {
        let pipeline = try Pipeline.load(path: Fixture.pipelineFile("""
            name: mc
            image: {shape: [64, 64]}
            operator: {type: mri, coils: 6, acceleration: 1, kspace: centered}
            prior: {type: none}
            solver: {type: adjoint}
            simulation: {noise: 0, phase: 1.5}
            """))
        let x = try NPY.read(path: Fixture.path("phantom64.npy"))
        let m = try pipeline.simulate(image: x, noise: 0, seed: 7)
        #expect(m.shape == [6, 64, 64])
        let result = try pipeline.makeReconstructor().reconstruct(m, reference: x)
        // Aᴴy with the estimated maps under full sampling is the magnitude image.
        #expect(result.diagnostics.psnr! > 40)

        // Map agreement |⟨S_est(p), S_true(p)⟩| on the object.
        let format = pipeline.kspace!.makeConverter()
        var y = [Float](repeating: 0, count: format.operatorCount)
        m.values.withUnsafeBufferPointer { w in y.withUnsafeMutableBufferPointer { format.toOperator(w.baseAddress!, $0.baseAddress!) } }
        let rows = Set(0..<64)
        let (estimated, _) = try y.withUnsafeBufferPointer {
            try CoilMapEstimator(coils: 6, height: 64, width: 64).estimate(kspace: $0.baseAddress!, sampledRows: rows)
        }
        let truth = pipeline.coilSimulation.maps(coils: 6, height: 64, width: 64)
        var agreement = 0.0, count = 0
        for p in 0..<(64 * 64) where x.data[p] > 0.2 {
            var re = 0.0, im = 0.0
            for c in 0..<6 {
                let i = 2 * (c * 4096 + p)
                let (a, b) = (Double(estimated.values[i]), Double(estimated.values[i + 1]))
                let (t, u) = (Double(truth.values[i]), Double(truth.values[i + 1]))
                re += a * t + b * u; im += a * u - b * t
            }
            agreement += (re * re + im * im).squareRoot(); count += 1
        }
        #expect(agreement / Double(count) > 0.99)
    }

    /// 4× multi-coil with estimated maps and correlated noise: TV-ADMM well above the
    /// zero-filled adjoint, and the frame's own sampled rows replace the pipeline's mask.
    @Test func undersampledReconstruction() throws {
        let text = """
            name: mc4
            image: {shape: [64, 64]}
            operator: {type: mri, coils: 8, acceleration: 4, center_fraction: 0.16, seed: 1, kspace: centered}
            prior: {type: tv, lambda: 0.01}
            solver: {type: admm, iterations: 40, rho: 0.1, x_step: cg, cg_iterations: 10, tolerance: 0}
            simulation: {noise: 0.005, seed: 3, coil_correlation: 0.3}
            """
        let pipeline = try Pipeline.load(path: Fixture.pipelineFile(text))
        let adjoint = try Pipeline.load(path: Fixture.pipelineFile(text.replacingOccurrences(of: "prior: {type: tv, lambda: 0.01}", with: "prior: {type: none}")
            .replacingOccurrences(of: "solver: {type: admm, iterations: 40, rho: 0.1, x_step: cg, cg_iterations: 10, tolerance: 0}", with: "solver: {type: adjoint}")))
        let x = try NPY.read(path: Fixture.path("phantom64.npy"))
        let m = try pipeline.simulate(image: x, noise: 0.005, seed: 3)
        let tv = try pipeline.makeReconstructor().reconstruct(m, reference: x).diagnostics.psnr!
        let zeroFilled = try adjoint.makeReconstructor().reconstruct(m, reference: x).diagnostics.psnr!
        #expect(tv > zeroFilled + 1.5, "TV \(tv) dB, zero-filled \(zeroFilled) dB")

        // Rows given with the frame: dropping the outer half of the lines changes the result.
        var partial = m
        let kept = pipeline.kspace!.wireShape[1]
        partial.sampledRows = (kept / 4..<(3 * kept / 4)).map { $0 }
        let central = try pipeline.makeReconstructor().reconstruct(partial, reference: x).diagnostics.psnr!
        #expect(central < tv)
    }

    /// Single-coil k-space of an object with phase: the real-image pipeline flags it
    /// (phase_discarded) and does worse than `coils: 1`, whose phase-referenced map carries the
    /// phase; an object without phase is not flagged.
    @Test func singleCoilPhaseIsFlaggedAndOneCoilRecoversIt() throws {
        let head = "image: {shape: [64, 64]}\nprior: {type: tv, lambda: 0.01}\nsolver: {type: admm, iterations: 40, rho: 0.1, x_step: cg, tolerance: 0}\n"
        let real = try Pipeline.load(path: Fixture.pipelineFile("name: sc\n" + head + "operator: {type: mri, acceleration: 3, center_fraction: 0.2, seed: 1}"))
        let one = try Pipeline.load(path: Fixture.pipelineFile("name: c1\n" + head + "operator: {type: mri, coils: 1, acceleration: 3, center_fraction: 0.2, seed: 1}"))
        let x = try NPY.read(path: Fixture.path("phantom64.npy"))
        guard case .mri(let mask, _, _, _, _) = real.operatorSpec else { Issue.record("not single-coil MRI"); return }
        var phased = [Float](repeating: 0, count: 2 * 4096)
        for r in 0..<64 {
            for c in 0..<64 {
                let theta = 1.2 * (Double(c) / 63 - 0.5) + 0.8 * pow(Double(r) / 63 - 0.5, 2)
                phased[2 * (r * 64 + c)] = x.data[r * 64 + c] * Float(cos(theta))
                phased[2 * (r * 64 + c) + 1] = x.data[r * 64 + c] * Float(sin(theta))
            }
        }
        let y = MRIOperator(mask: mask, imageType: .complex64).forward(phased)
        let measurement = Measurement(shape: [64, 64], type: .complex64, values: y)
        let flattened = try real.makeReconstructor().reconstruct(measurement, reference: x).diagnostics
        #expect(flattened.flags.contains(.phaseDiscarded), "imaginary fraction \(flattened.imaginaryFraction ?? -1)")
        let referenced = try one.makeReconstructor().reconstruct(measurement, reference: x).diagnostics
        #expect(referenced.psnr! > flattened.psnr! + 3, "coils: 1 \(referenced.psnr!) dB, real part \(flattened.psnr!) dB")
        let plain = try real.makeReconstructor().reconstruct(try real.simulate(image: x, noise: 0.005, seed: 2), reference: x)
        #expect(!plain.diagnostics.flags.contains(.phaseDiscarded), "imaginary fraction \(plain.diagnostics.imaginaryFraction ?? -1)")
        #expect(plain.diagnostics.imaginaryFraction! < 0.002, "imaginary fraction \(plain.diagnostics.imaginaryFraction ?? -1)")
    }

    @Test func pipelineErrorsNameTheKey() {
        func error(_ text: String) -> String {
            do { _ = try Pipeline.load(path: Fixture.pipelineFile(text)); return "" } catch { return "\(error)" }
        }
        let base = "name: e\nimage: {shape: [32, 32]}\nprior: {type: none}\nsolver: {type: adjoint}\n"
        #expect(error(base + "operator: {type: mri, acceleration: 4, coil_maps: estimate}").contains("'operator.coil_maps': only for multi-coil"))
        #expect(error(base + "operator: {type: mri, coils: 4, acceleration: 4, center_fraction: 0.05}").contains("'operator.center_fraction': coil_maps: estimate needs at least 6"))
        #expect(error(base + "operator: {type: mri, coils: 4, acceleration: 4, center_fraction: 0.3}\ninput: mrd").contains("'input': mrd input needs operator.kspace: centered"))
        #expect(error("name: e\nimage: {shape: [31, 32]}\nprior: {type: none}\nsolver: {type: adjoint}\noperator: {type: mri, acceleration: 4, kspace: centered}").contains("centered k-space needs even sides"))
    }
}
