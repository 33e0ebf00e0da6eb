import Foundation
import LPN
import TensorIO

/// The `operator: {type: mri}` section of a pipeline file (docs/PIPELINES.md, "type: mri"):
/// single or multi-coil, the mask and the k-space format.
extension PipelineLoader {
    /// The `mri` operator section: single or multi-coil (`coils`), mask, k-space format.
    static func mriOperator(_ op: YAMLSection, shape: [Int], resolve: (String) -> String) throws -> (OperatorSpec, KSpaceFormat) {
        let h = shape[0], w = shape[1], pixels = h * w
        let coils = try op.int("coils", range: 1...128)
        let layout = try op.choice("kspace", KSpaceLayout.self) ?? .unshifted
        let oversampling = try op.int("readout_oversampling", range: 1...8) ?? 1
        if layout == .centered, h % 2 != 0 || w % 2 != 0 {
            throw op.fail("kspace", "centered k-space needs even sides, the image is \(h)×\(w)")
        }
        let format = KSpaceFormat(coils: coils ?? 0, height: h, width: w, layout: layout, readoutOversampling: oversampling)
        let acceleration = try op.double("acceleration", min: 1)
        let center = try op.double("center_fraction", min: 0, max: 1)
        let seed = try op.int("seed", range: 0...Int.max)
        let maskFile = try op.string("mask")
        let mask: MRIMask
        if let maskFile {
            if acceleration != nil || center != nil || seed != nil {
                throw op.fail("mask", "give either a mask file or acceleration/center_fraction/seed, not both")
            }
            let t: Tensor
            do { t = try NPY.read(path: resolve(maskFile)) } catch {
                throw op.fail("mask", "cannot load \(resolve(maskFile)): \(error)")
            }
            // The file is in the pipeline's k-space layout; the operator's mask is unshifted.
            var values = [Float](repeating: 0, count: pixels)
            if t.shape == shape {
                for r in 0..<h {
                    for c in 0..<w {
                        values[format.operatorMaskIndex(row: r, column: c)] = t.data[r * w + c]
                    }
                }
            } else if t.shape == [h] {
                for r in 0..<h { for c in 0..<w { values[format.operatorRow(r) * w + c] = t.data[r] } }
            } else {
                throw op.fail("mask", "mask shape \(t.shape) must be \(shape) (k-space) or [\(h)] (phase-encode lines)")
            }
            guard values.allSatisfy({ $0 == 0 || $0 == 1 }) else { throw op.fail("mask", "mask values must be 0 or 1") }
            guard values.contains(1) else { throw op.fail("mask", "mask samples nothing") }
            mask = MRIMask(height: h, width: w, values: values)
        } else {
            guard let acceleration else { throw op.fail("acceleration", "missing (required unless mask is given)") }
            mask = MRIMask.lines(height: h, width: w, acceleration: acceleration, centerFraction: center ?? 0.08,
                                 seed: UInt64(seed ?? 0))
        }
        let mapsFile = try op.string("coil_maps")
        let normalize = try op.bool("normalize")
        guard let coils else {
            for key in ["coil_maps", "normalize"] where op.has(key) {
                throw op.fail(key, "only for multi-coil MRI (give operator.coils)")
            }
            let spec = OperatorSpec.mri(mask, acceleration: maskFile == nil ? acceleration : nil,
                                        centerFraction: maskFile == nil ? (center ?? 0.08) : nil,
                                        seed: maskFile == nil ? UInt64(seed ?? 0) : nil, maskFile: maskFile.map(resolve))
            return (spec, format)
        }
        var maps: CoilMaps? = nil
        if let mapsFile, mapsFile != "estimate" {
            do { maps = try CoilMaps.read(path: resolve(mapsFile), coils: coils, height: h, width: w) } catch {
                throw op.fail("coil_maps", "\(error)")
            }
        } else {
            let rows = Set(mask.lines)
            let r = CoilMapEstimator.calibrationHalfWidth(sampledRows: rows, height: h)
            if 2 * r + 1 < CoilMapEstimator.minimumCalibrationRows {
                throw op.fail(maskFile == nil ? "center_fraction" : "mask",
                              "coil_maps: estimate needs at least \(CoilMapEstimator.minimumCalibrationRows) fully sampled central rows; the mask has \(rows.contains(0) ? 2 * r + 1 : 0)")
            }
        }
        let spec = MultiCoilSpec(coils: coils, mask: mask, maps: maps, mapsFile: maps == nil ? nil : mapsFile.map(resolve),
                                 normalize: normalize ?? false,
                                 acceleration: maskFile == nil ? acceleration : nil,
                                 centerFraction: maskFile == nil ? (center ?? 0.08) : nil,
                                 seed: maskFile == nil ? UInt64(seed ?? 0) : nil, maskFile: maskFile.map(resolve))
        return (.multiCoilMRI(spec), format)
    }
}
