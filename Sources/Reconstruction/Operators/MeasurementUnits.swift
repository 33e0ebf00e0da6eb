import Foundation

/// How cross-validation may hold an operator's measurements out (docs/MATH.md §6): the floats
/// of one unit are held out together; floats of no unit (−1) are never held out.
///
/// A unit is what a held-out measurement must be for the prediction test to mean something:
/// one sample of a dense or random-convolution measurement, or one pixel of a blurred image,
/// but for Cartesian MRI of a real image a phase-encode line together with its mirror (a real
/// image's k-space is Hermitian, so a line held out while its mirror is kept is still known).
public struct MeasurementUnits: Sendable {
    /// The unit of each measurement float, or −1.
    public let unitOfFloat: [Int32]
    /// Units 0..<count.
    public let count: Int
    /// How much a unit's prediction error counts (docs/MATH.md §6): 1 where the measured units
    /// are a uniform sample of all there could be; (1 − π)/π for a unit measured with
    /// probability π, so that the held-out units stand for the unmeasured ones.
    public let weights: [Double]

    public init(unitOfFloat: [Int32], count: Int, weights: [Double]? = nil) {
        precondition(weights == nil || weights!.count == count)
        self.unitOfFloat = unitOfFloat
        self.count = count
        self.weights = weights ?? [Double](repeating: 1, count: count)
    }

    /// One unit per measured sample (`floatsPerSample` floats each).
    public static func perSample(samples: Int, floatsPerSample: Int) -> MeasurementUnits {
        MeasurementUnits(unitOfFloat: (0..<samples * floatsPerSample).map { Int32($0 / floatsPerSample) }, count: samples)
    }

    /// The weight of each float's unit (0 for floats of no unit).
    public var floatWeights: [Double] { unitOfFloat.map { $0 >= 0 ? weights[Int($0)] : 0 } }

    /// The 0/1 keep masks over measurement floats of `folds`-fold cross-validation: the units,
    /// in an order drawn from `seed`, are dealt to the folds in turn, and mask k holds out
    /// (0) fold k's units. Every unit is held out by exactly one mask. Needs folds ≤ count.
    public func keepMasks(folds: Int, seed: UInt64) -> [[Float]] {
        precondition(folds >= 2 && folds <= count, "\(folds) folds need at least as many measurement units (\(count))")
        var foldOfUnit = [Int](repeating: 0, count: count)
        for (position, unit) in Draw.permutation(count, seed: seed).enumerated() { foldOfUnit[unit] = position % folds }
        return (0..<folds).map { k in unitOfFloat.map { $0 >= 0 && foldOfUnit[Int($0)] == k ? 0 : 1 } }
    }
}
