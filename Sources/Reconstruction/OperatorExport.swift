import Foundation
import TensorIO
import Support

/// Writes everything a client in another language needs to produce measurements itself:
/// the operator's arrays as .npy and `operator.json` (formula, conventions, shapes, files).
public enum OperatorExport {
    @discardableResult
    public static func export(_ pipeline: Pipeline, to directory: String) throws -> [String] {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var files: [String] = []
        func write(_ name: String, _ tensor: Tensor) throws {
            try NPY.write(tensor, path: (directory as NSString).appendingPathComponent(name))
            files.append(name)
        }
        let h = pipeline.imageShape[0], w = pipeline.imageShape[1]
        var description: [String: JSONValue] = [
            "pipeline": .string(pipeline.name),
            "operator": .string(pipeline.operatorSpec.typeName),
            "image_shape": JSONValue(pipeline.imageShape),
            "image_dtype": pipeline.imageType == .complex64 ? "complex64" : "float32",
            "image_layout": "row-major H×W; flatten with x.reshape(-1) (C order)",
            "measurement_shape": JSONValue(pipeline.measurementShape),
            "measurement_dtype": .string(pipeline.measurementType.rawValue),
            "noise_model": "y = A x + s·n, n ~ N(0, I) on every stored real value (complex: re and im; mri: sampled locations only)",
        ]
        if let k = pipeline.kspace {
            description["kspace_layout"] = k.layout == .centered
                ? "centered (BART fftc): y_wire = fftshift((-1)^(kx+ky) * y) per coil; mask.npy and sampled_lines are centred too (as operator.mask reads them)"
                : "unshifted"
            description["readout_oversampling"] = .int(k.readoutOversampling)
        }
        switch pipeline.operatorSpec {
        case .denseCS(let m, let seed, let file):
            try write("matrix.npy", Tensor(shape: [m.rows, m.columns], data: m.values))
            description["formula"] = "y = matrix @ x.reshape(-1)"
            description["parameters"] = ["rows": .int(m.rows), "columns": .int(m.columns), "seed": JSONValue(seed.map { Int($0) }), "matrix_file": JSONValue(file)]
        case .randomConvolution(let d, let rate, let seed):
            try write("signs.npy", Tensor(shape: [d.signs.count], data: d.signs))
            try write("filter.npy", Tensor(shape: [d.filter.count], data: d.filter))
            try MeasurementFile.writeIndices(d.indices.map { Int($0) }, shape: [d.indices.count],
                                             path: (directory as NSString).appendingPathComponent("indices.npy"))
            files.append("indices.npy")
            description["formula"] = "u = signs * x.reshape(-1); y = np.real(np.fft.ifft(np.fft.fft(u, norm='ortho') * np.fft.fft(filter, norm='ortho'), norm='ortho'))[indices]"
            description["parameters"] = ["rate": .double(rate), "seed": .int(Int(seed)), "measurements": .int(d.indices.count)]
        case .mri(let mask, let r, let c, let seed, let file):
            try write("mask.npy", Tensor(shape: [h, w], data: pipelineLayout(mask.values, pipeline, h, w)))
            description["formula"] = "y = mask * np.fft.fft2(x, norm='ortho')  (unshifted k-space: index [0,0] is DC; phase-encode lines are rows)"
            description["parameters"] = ["acceleration": JSONValue(r), "center_fraction": JSONValue(c), "seed": JSONValue(seed.map { Int($0) }),
                                         "mask_file": JSONValue(file), "sampled_lines": JSONValue(pipelineRows(mask.lines, pipeline)), "sampling_rate": .double(mask.samplingRate)]
        case .multiCoilMRI(let spec):
            try write("mask.npy", Tensor(shape: [h, w], data: pipelineLayout(spec.mask.values, pipeline, h, w)))
            let maps = spec.maps ?? pipeline.coilSimulation.maps(coils: spec.coils, height: h, width: w)
            try NPY.writeComplex(shape: [spec.coils, h, w], values: maps.values,
                                 path: (directory as NSString).appendingPathComponent("coil_maps.npy"))
            files.append("coil_maps.npy")
            description["formula"] = "y[c] = mask * np.fft.fft2(coil_maps[c] * x, norm='ortho')  (unshifted k-space; coil_maps: the given maps, or the simulation's true maps when estimated per frame)"
            description["parameters"] = ["coils": .int(spec.coils), "acceleration": JSONValue(spec.acceleration),
                                         "center_fraction": JSONValue(spec.centerFraction), "seed": JSONValue(spec.seed.map { Int($0) }),
                                         "mask_file": JSONValue(spec.maskFile), "coil_maps": .string(spec.mapsFile ?? "estimate"),
                                         "normalize": .bool(spec.normalize), "sampled_lines": JSONValue(pipelineRows(spec.mask.lines, pipeline)),
                                         "sampling_rate": .double(spec.mask.samplingRate)]
        case .blur(let k):
            try write("kernel.npy", Tensor(shape: [k.size, k.size], data: k.values))
            description["formula"] = "y = scipy.signal.convolve2d(x, kernel, mode='full')"
            description["parameters"] = ["sigma": k.sigma.isFinite ? .double(k.sigma) : .null, "kernel_size": .int(k.size)]
        case .identity:
            description["formula"] = "y = x"
        }
        description["files"] = JSONValue(files)
        let json = Data(try JSONWriter.encode(JSONValue.object(description), pretty: true))
        let path = (directory as NSString).appendingPathComponent("operator.json")
        guard FileManager.default.createFile(atPath: path, contents: json) else {
            throw ReconstructionError.invalidFile(path: path, reason: "cannot write file")
        }
        return files + ["operator.json"]
    }

    /// A mask [H, W] in the operator's (unshifted) layout, as the pipeline's `operator.mask`
    /// reads it: centred for `kspace: centered` (so an exported mask loads back unchanged).
    static func pipelineLayout(_ values: [Float], _ pipeline: Pipeline, _ h: Int, _ w: Int) -> [Float] {
        guard let format = pipeline.kspace, format.layout == .centered else { return values }
        var out = [Float](repeating: 0, count: h * w)
        for r in 0..<h {
            for c in 0..<w { out[r * w + c] = values[format.operatorMaskIndex(row: r, column: c)] }
        }
        return out
    }

    /// Sampled rows in the pipeline's layout (the inverse of the loader's operatorRow: a shift
    /// by H/2, its own inverse for even H).
    static func pipelineRows(_ rows: [Int], _ pipeline: Pipeline) -> [Int] {
        guard let format = pipeline.kspace, format.layout == .centered else { return rows }
        return rows.map(format.operatorRow).sorted()
    }
}
