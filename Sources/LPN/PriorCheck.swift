import Foundation

/// Where an image stands against what the prior knows, from one evaluation of ψ_frame and f at
/// the image x itself (no inversion):
///
///     φ(f(x)) = ⟨x, f(x)⟩ − ½‖f(x)‖² − ψ(x)     per pixel: phi
///     ‖f(x) − x‖ / √(pixels)                     the RMS displacement: displacement
///
/// φ(f(x)) is exact (docs/MATH.md §1 at y = x). The
/// displacement is how far the prox would still move the image: small for the clean images the
/// model was trained on, large for one it does not recognise. Both are compared with their
/// range on the model's training images (``PriorCalibration``, stored with the model).
public struct PriorStatistics: Sendable, Codable, Equatable {
    /// φ(f(x)) divided by the number of pixels (C·H·W).
    public var phi: Double
    /// ‖f(x) − x‖ / √(C·H·W).
    public var displacement: Double

    public init(phi: Double, displacement: Double) {
        self.phi = phi
        self.displacement = displacement
    }

    /// Measures x (C×H×W, the frame's size) with `scratch` (C·H·W floats) for f(x), with the
    /// model itself (``WholeFrameProx/evaluateModel(_:gradient:)``: no symmetry averaging).
    public static func measure(_ x: UnsafePointer<Float>, frame: WholeFrameProx,
                               scratch f: UnsafeMutablePointer<Float>) -> PriorStatistics {
        let psi = frame.evaluateModel(x, gradient: f)
        let count = frame.imageCount
        var inner = 0.0, fNorm = 0.0, moved = 0.0
        for i in 0..<count {
            let a = Double(x[i]), b = Double(f[i])
            inner += a * b
            fNorm += b * b
            moved += (b - a) * (b - a)
        }
        let phi = inner - 0.5 * fNorm - psi
        return PriorStatistics(phi: phi / Double(count), displacement: (moved / Double(count)).squareRoot())
    }
}

/// The range of ``PriorStatistics`` on the model's own training images, measured by
/// `lpnd calibrate` with whole-frame processing and stored in the model's metadata
/// (`calibration_phi`, `calibration_displacement`: "low,high"; `calibration_images`;
/// `calibration_size`: "height,width" of the calibration frames).
public struct PriorCalibration: Sendable, Codable, Equatable {
    /// [low, high] of φ per pixel and of the RMS displacement over the calibration images.
    public var phi: [Double]
    public var displacement: [Double]
    public var images: Int
    /// [height, width] of the calibration frames.
    public var size: [Int]

    /// A statistic is out of range when it lies above high + m, m = `margin` × (high − low):
    /// the training images' spread, widened by half of it. Only the high side counts: a
    /// reconstruction is usually smoother than a training image, so it sits lower; what the
    /// prior does not recognise sits higher (less likely, moved more by f).
    public static let margin = 0.5

    public init(phi: [Double], displacement: [Double], images: Int, size: [Int]) {
        self.phi = phi
        self.displacement = displacement
        self.images = images
        self.size = size
    }

    /// The calibration of a set of measured H×W images: their min and max.
    public init(measured: [PriorStatistics], height: Int, width: Int) {
        let phis = measured.map(\.phi), moves = measured.map(\.displacement)
        self.init(phi: [phis.min() ?? 0, phis.max() ?? 0], displacement: [moves.min() ?? 0, moves.max() ?? 0],
                  images: measured.count, size: [height, width])
    }

    /// Which statistics of `s`, measured on an H×W frame, lie above their widened ranges
    /// ("phi", "displacement"). φ per pixel carries the padding's share of the potential,
    /// which depends on the frame size, so it is judged only on frames of the calibration
    /// size; the displacement, a per-pixel RMS of the frame itself, on every frame.
    public func outside(_ s: PriorStatistics, height: Int, width: Int) -> [String] {
        func above(_ v: Double, _ range: [Double]) -> Bool {
            !v.isFinite || v > range[1] + Self.margin * (range[1] - range[0])
        }
        var names: [String] = []
        if size == [height, width], above(s.phi, phi) { names.append("phi") }
        if above(s.displacement, displacement) { names.append("displacement") }
        return names
    }

    /// The metadata strings this calibration is stored as.
    public var metadata: [String: String] {
        ["calibration_phi": "\(phi[0]),\(phi[1])",
         "calibration_displacement": "\(displacement[0]),\(displacement[1])",
         "calibration_images": "\(images)",
         "calibration_size": "\(size[0]),\(size[1])"]
    }

    /// Parses the metadata strings (nil when the model has none), naming the key at fault.
    init?(metadata: [String: String], path: String) throws {
        guard metadata["calibration_phi"] != nil else { return nil }
        func pair(_ key: String) throws -> [Double] {
            let text = metadata[key] ?? ""
            let parts = text.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 2, parts.allSatisfy(\.isFinite), parts[0] <= parts[1] else {
                throw LPNError.invalidModel(path: path, "metadata '\(key)' = '\(text)' is not 'low,high' with low ≤ high")
            }
            return parts
        }
        let images = Int(metadata["calibration_images"] ?? "") ?? 0
        let size = (metadata["calibration_size"] ?? "").split(separator: ",").compactMap { Int($0) }
        self.init(phi: try pair("calibration_phi"), displacement: try pair("calibration_displacement"), images: images,
                  size: size.count == 2 ? size : [0, 0])
    }
}
