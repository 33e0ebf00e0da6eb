/// Which mirror images of a frame the learned prox averages over (``WholeFrameProx``).
///
/// For a group G of pixel permutations P_g (flips, transposes) the symmetrised potential
///
///     ψ_G(x) = (1/|G|) Σ_g ψ_frame(P_g x),   f_G(x) = ∇ψ_G(x) = (1/|G|) Σ_g P_gᵀ f(P_g x)
///
/// is an average of convex functions, so convex, and f_G is again exactly a proximal
/// operator (of a regulariser φ_G that ``LearnedPrior`` evaluates like any other). f_G is
/// equivariant: f_G(P_g x) = P_g f_G(x) for every g in G, which a network trained on flipped
/// images learns only approximately. The cost is |G| evaluations of the network per prox.
///
/// - `none`: G = {I}, the model as it is (the default).
/// - `mirror`: left–right flip (|G| = 2).
/// - `flips`: left–right and up–down flips and both (|G| = 4).
/// - `dihedral`: the flips and the transposes, the 8 symmetries of a square (square frames only).
public enum FrameSymmetry: String, Sendable, CaseIterable, Codable {
    /// Named `identity` in Swift so that it never reads as `Optional.none`; "none" in files.
    case identity = "none"
    case mirror, flips, dihedral

    /// One permutation of the H×W grid: output pixel (i, j) reads input pixel `source(i, j)`,
    /// found by transposing first, then flipping rows and columns.
    public struct Transform: Sendable, Equatable {
        public var transpose: Bool
        public var flipRows: Bool
        public var flipColumns: Bool

        public init(transpose: Bool, flipRows: Bool, flipColumns: Bool) {
            (self.transpose, self.flipRows, self.flipColumns) = (transpose, flipRows, flipColumns)
        }

        /// The flat index (row-major H×W; square when transposing) that output (i, j) reads.
        @inlinable
        public func source(_ i: Int, _ j: Int, height h: Int, width w: Int) -> Int {
            var (a, b) = transpose ? (j, i) : (i, j)
            if flipRows { a = h - 1 - a }
            if flipColumns { b = w - 1 - b }
            return a * w + b
        }
    }

    /// The group's elements, identity first.
    public var transforms: [Transform] {
        let flips: [(Bool, Bool)]
        switch self {
        case .identity: flips = [(false, false)]
        case .mirror: flips = [(false, false), (false, true)]
        case .flips, .dihedral: flips = [(false, false), (false, true), (true, false), (true, true)]
        }
        let transposes = self == .dihedral ? [false, true] : [false]
        return transposes.flatMap { t in flips.map { Transform(transpose: t, flipRows: $0.0, flipColumns: $0.1) } }
    }

    /// Whether frames of H×W have this symmetry (the transposes need a square).
    public func accepts(height: Int, width: Int) -> Bool {
        self != .dihedral || height == width
    }

    /// Throws unless frames of H×W have this symmetry.
    public func check(height: Int, width: Int) throws {
        guard accepts(height: height, width: width) else {
            throw LPNError.invalidInput("symmetry \(rawValue) needs a square frame, not \(height)×\(width) (use flips)")
        }
    }
}
