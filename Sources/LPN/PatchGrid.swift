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
