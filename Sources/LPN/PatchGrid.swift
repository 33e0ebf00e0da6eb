import Foundation

/// Where the N×N patches of a larger frame start along one axis.
///
/// Patches start at 0, s, 2s, … and, when that does not reach the far edge exactly, one more
/// patch is placed flush with it, so every pixel is covered. Overlaps are averaged.
public enum PatchGrid {
    public static func starts(length: Int, patch: Int, stride: Int) -> [Int] {
        precondition(length >= patch && stride >= 1)
        var starts = Array(Swift.stride(from: 0, through: length - patch, by: stride))
        if starts.last! + patch < length { starts.append(length - patch) }
        return starts
    }
}

/// How overlapping patch outputs are combined on frames larger than the model.
public enum PatchWeighting: String, Sendable, CaseIterable {
    /// Plain average of the overlaps (the paper's).
    case uniform
    /// Each patch output weighted by a separable Hann window (sin²), so pixels near a patch's
    /// border, where the network sees zero padding instead of the neighbourhood, count less.
    case hann

    /// The N×N weights of one patch, row-major.
    public func window(size n: Int) -> [Float] {
        switch self {
        case .uniform:
            return [Float](repeating: 1, count: n * n)
        case .hann:
            let profile = (0..<n).map { i -> Float in
                let s = sin(Double.pi * (Double(i) + 0.5) / Double(n))
                return Float(s * s)
            }
            return (0..<(n * n)).map { profile[$0 / n] * profile[$0 % n] }
        }
    }
}
