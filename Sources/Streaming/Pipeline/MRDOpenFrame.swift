import Foundation

/// What an image made from an MRD frame repeats of its acquisitions: the counters that key the
/// frame, the first line's geometry and the header's field of view; and the lines it lacks.
public struct MRDFrameInfo: Sendable, Equatable {
    public var slice = 0, contrast = 0, phase = 0, repetition = 0, set = 0, average = 0
    public var geometry = MRDGeometry()
    /// encoding/reconSpace/fieldOfView_mm (x, y, z).
    public var fieldOfView: [Float] = [0, 0, 0]
    /// Phase-encode lines the header's acceleration factor promises and the frame lacks
    /// (``MRDOpenFrame/missingLines(limits:acceleration:)``); 0 without a factor.
    public var missingLines = 0

    public init() {}
}

/// One frame being assembled from an MRD stream's lines: the centred k-space [C, H, os·W] and
/// the rows filled so far.
struct MRDOpenFrame {
    /// (slice, contrast, phase, repetition, set, average).
    let key: [Int]
    var values: [Float]
    var rows: Set<Int> = []
    var info = MRDFrameInfo()

    init(first line: MRDAcquisition, expectation e: MRDExpectation, fieldOfView: [Float]) {
        key = Self.key(of: line)
        values = [Float](repeating: 0, count: 2 * e.coils * e.height * e.readoutLength)
        info.slice = line.slice; info.contrast = line.contrast; info.phase = line.phase
        info.repetition = line.repetition; info.set = line.set; info.average = line.average
        info.geometry = line.geometry
        info.fieldOfView = fieldOfView
    }

    static func key(of line: MRDAcquisition) -> [Int] {
        [line.slice, line.contrast, line.phase, line.repetition, line.set, line.average]
    }

    static func describe(_ key: [Int]) -> String {
        "slice \(key[0]) contrast \(key[1]) phase \(key[2]) repetition \(key[3]) set \(key[4]) average \(key[5])"
    }

    /// Copies the line's samples after `discard_pre` into row `step1` of every coil (reversed
    /// lines back to front).
    mutating func insert(_ line: MRDAcquisition, expectation e: MRDExpectation) {
        let n = e.readoutLength, reverse = line.has(.reverse)
        values.withUnsafeMutableBufferPointer { out in
            line.data.withUnsafeBufferPointer { data in
                for c in 0..<e.coils {
                    let dst = 2 * ((c * e.height + line.step1) * n)
                    let src = 2 * (c * line.samples + line.discardPre)
                    for s in 0..<n {
                        let from = src + 2 * (reverse ? n - 1 - s : s)
                        out[dst + 2 * s] = data[from]; out[dst + 2 * s + 1] = data[from + 1]
                    }
                }
            }
        }
        rows.insert(line.step1)
    }

    /// Rows around the centre (H/2 in MRD's centred k-space) sampled without a gap.
    func centralRows(height: Int) -> Int {
        let c = height / 2
        guard rows.contains(c) else { return 0 }
        var low = c, high = c
        while rows.contains(low - 1) { low -= 1 }
        while rows.contains(high + 1) { high += 1 }
        return high - low + 1
    }

    /// Lines an acceleration factor R promises that the frame lacks: a regular pattern leaves
    /// fewer than R unsampled rows between sampled ones and at either end of `limits`, so each
    /// run of g unsampled rows lacks ⌊g / R⌋ lines.
    func missingLines(limits: ClosedRange<Int>, acceleration r: Int) -> Int {
        let sorted = rows.filter { limits.contains($0) }.sorted()
        guard let first = sorted.first, let last = sorted.last else { return limits.count / r }
        var missing = (first - limits.lowerBound) / r + (limits.upperBound - last) / r
        for (a, b) in zip(sorted, sorted.dropFirst()) { missing += (b - a - 1) / r }
        return missing
    }
}
