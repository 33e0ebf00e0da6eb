/// How a frame is extended before the network sees it whole (``WholeFrameProx``).
///
/// Padding is a linear map R from the H×W frame to an H'×W' one with sides that are
/// multiples of 8 and at least N. ψ_frame(x) = s·ψ_net(Rx) + α‖x‖² is convex for every R, and
/// its gradient s·Rᵀ∇ψ_net(Rx) + 2αx is an exact proximal operator whatever the mode; the
/// modes differ only in what the network sees beyond the border:
///
/// - `zero` (the default of a model that names none): black margins of N − 8 on every side (plus what rounds the sides up to
///   multiples of 8), so every pixel lies in the same number of windows and the network sees
///   the frame's border as it saw its training images' borders (its convolutions zero-pad).
/// - `reflect`: mirror images of the frame (edge pixel repeated, period 2H), N/2 on every
///   side.
/// - `circular`: the frame as a torus, extended by N − 8 after its last row and column.
/// - `none`: no extension (sides must already be multiples of 8 and at least N). On an N×N
///   frame the network is then exactly the model.
public enum FramePadding: String, Sendable, CaseIterable, Codable {
    case zero, reflect, circular
    /// Named `unpadded` in Swift so that it never reads as `Optional.none`; "none" in files.
    case unpadded = "none"

    /// Rows (or columns) added before and after a side of `length` for a model of size `n`.
    public func amounts(length: Int, modelSize n: Int) -> (before: Int, after: Int) {
        let roundUp = (8 - length % 8) % 8
        switch self {
        case .reflect: return (n / 2, n / 2 + roundUp)
        case .circular: return (0, n - 8 + roundUp)
        case .zero: return (n - 8, n - 8 + roundUp)
        case .unpadded: return (0, 0)
        }
    }

    /// Whether a side of `length` can be processed in this mode.
    public func accepts(length: Int, modelSize n: Int) -> Bool {
        self != .unpadded || (length % 8 == 0 && length >= n)
    }

    /// For each padded index, the source index along one axis, or −1 for a zero.
    public func indexMap(length: Int, modelSize n: Int) -> [Int32] {
        let (before, after) = amounts(length: length, modelSize: n)
        return (0..<(before + length + after)).map { i -> Int32 in
            let t = i - before
            if t >= 0 && t < length { return Int32(t) }
            switch self {
            case .zero, .unpadded: return -1
            case .circular: return Int32(((t % length) + length) % length)
            case .reflect:
                // Symmetric extension, period 2·length: … x1 x0 | x0 x1 … x_{L−1} | x_{L−1} …
                let period = 2 * length
                let m = ((t % period) + period) % period
                return Int32(m < length ? m : period - 1 - m)
            }
        }
    }
}
