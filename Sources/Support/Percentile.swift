/// The p-th percentile (0–100) of sorted values, nearest rank with rounding; nil when empty.
public func percentile(ofSorted values: [Double], _ p: Double) -> Double? {
    guard !values.isEmpty else { return nil }
    return values[min(values.count - 1, Int((p / 100 * Double(values.count - 1)).rounded()))]
}
