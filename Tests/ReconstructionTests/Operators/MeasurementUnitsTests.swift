import Foundation
import LPN
import Reconstruction
import Testing

/// ``MeasurementUnits``: what cross-validation holds out together, with what weight, and how
/// the units are dealt into folds.
@Suite struct MeasurementUnitsTests {
    /// A line mask's units: sampled rows outside the centre block, a real image's row paired
    /// with its mirror; the centre block, DC and unsampled rows are never held out.
    @Test func mriUnitsAreLinesOutsideTheCentrePairedWithTheirMirror() {
        let h = 32, w = 8
        let mask = MRIMask.lines(height: h, width: w, acceleration: 2.5, centerFraction: 0.15, seed: 5)
        let sampled = Set(mask.lines)
        for type in [SampleType.float32, .complex64] {
            let units = MRIOperator(mask: mask, imageType: type).measurementUnits
            var unitOfRow: [Int: Int32] = [:]
            for r in 0..<h {
                let row = Set((0..<2 * w).map { units.unitOfFloat[2 * r * w + $0] })
                #expect(row.count == 1, "row \(r) mixes units \(row)")
                unitOfRow[r] = row.first!
            }
            for r in [0, 1, 2, h - 1, h - 2] { #expect(unitOfRow[r] == -1, "centre row \(r)") }
            for r in 0..<h where !sampled.contains(r) { #expect(unitOfRow[r] == -1, "unsampled row \(r)") }
            let outside = sampled.filter { unitOfRow[$0]! >= 0 }
            #expect(!outside.isEmpty)
            for r in outside where sampled.contains((h - r) % h) && unitOfRow[(h - r) % h]! >= 0 {
                #expect((unitOfRow[r] == unitOfRow[(h - r) % h]) == (type == .float32), "row \(r) and its mirror")
            }
            #expect(Set(outside.map { unitOfRow[$0]! }).count == units.count)
            // importance weights (1 − π)/π: a variable-density mask samples low |k| more often,
            // so a held-out line there stands for fewer unmeasured lines than one at high |k|
            let byFrequency = outside.sorted { abs($0 < h / 2 ? $0 : $0 - h) < abs($1 < h / 2 ? $1 : $1 - h) }
            let low = units.weights[Int(unitOfRow[byFrequency.first!]!)], high = units.weights[Int(unitOfRow[byFrequency.last!]!)]
            #expect(units.weights.allSatisfy { $0 > 0 && $0.isFinite })
            #expect(low < high, "weights \(units.weights)")
        }
        let dense = DenseGaussianOperator(matrix: DenseMatrix(gaussianRows: 20, columns: 48, seed: 1), imageShape: [6, 8])
        #expect(dense.measurementUnits.weights == [Double](repeating: 1, count: 20))
    }

    /// Multi-coil: a line is one unit in every coil (no mirror pairs), and the kept operator
    /// is adjoint.
    @Test func multiCoilUnitsAreLinesAcrossCoils() {
        let h = 32, w = 8, coils = 3
        let mask = MRIMask.lines(height: h, width: w, acceleration: 2.5, centerFraction: 0.15, seed: 5)
        let op = MultiCoilMRIOperator(coils: coils, mask: mask, source: .estimate)
        let units = op.measurementUnits
        #expect(units.count == mask.lineUnits(pairingMirrors: false, coils: 1).count)
        #expect(units.count > mask.lineUnits(pairingMirrors: true, coils: 1).count)
        for r in 0..<h {
            let ids = Set((0..<coils).flatMap { c in (0..<2 * w).map { units.unitOfFloat[2 * (c * h + r) * w + $0] } })
            #expect(ids.count == 1, "row \(r) has units \(ids) over its coils")
        }
        let kept = op.keeping(units.keepMasks(folds: 2, seed: 0)[1])
        #expect(adjointMismatch(kept, seed: 24) < 1e-5)
    }

    /// K folds hold every unit out exactly once, in folds whose sizes differ by at most one;
    /// floats of no unit are always kept.
    @Test func foldsHoldEachUnitOutOnce() {
        let op = MRIOperator(mask: MRIMask.lines(height: 64, width: 4, acceleration: 3, centerFraction: 0.08, seed: 3))
        let units = op.measurementUnits
        let masks = units.keepMasks(folds: 4, seed: 9)
        var sizes: [Int] = []
        for m in masks {
            sizes.append(Set(m.indices.filter { m[$0] == 0 }.map { units.unitOfFloat[$0] }).count)
        }
        for i in 0..<op.measurementCount {
            let heldBy = masks.filter { $0[i] == 0 }.count
            #expect(heldBy == (units.unitOfFloat[i] >= 0 ? 1 : 0))
        }
        #expect(sizes.reduce(0, +) == units.count)
        #expect(sizes.max()! - sizes.min()! <= 1)
        #expect(masks.map { $0 } == units.keepMasks(folds: 4, seed: 9), "the split is a function of the seed")
        #expect(masks != units.keepMasks(folds: 4, seed: 10))
    }
}
