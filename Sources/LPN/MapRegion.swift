/// A rectangle of a map's pixels (rows × columns, half-open), and how a rectangle of an input
/// spreads through the network's layers.
///
/// A convolution's output pixel o (along one axis; kernel k, stride s, padding p) reads the
/// input pixels s·o − p … s·o − p + k − 1, so the outputs that read any of the input pixels
/// [a, b) are
///
///     ⌈(a + p − k + 1) / s⌉ ≤ o ≤ ⌊(b − 1 + p) / s⌋,
///
/// and a skip input downsampled by f (``Downsample``: each value reads pixels of its own f×f
/// block only) can read [a, b) only in the blocks ⌊a/f⌋ … ⌈b/f⌉ − 1. Used by ``LPNEngine`` to
/// recompute only the pixels of each layer that an input rectangle reaches (a rectangle that
/// holds the reach is enough: anything more is recomputed to the same value).
public struct MapRegion: Sendable, Equatable, CustomStringConvertible {
    public var rows: Range<Int>
    public var columns: Range<Int>

    public init(rows: Range<Int>, columns: Range<Int>) {
        self.rows = rows
        self.columns = columns
    }

    /// The whole of an H×W map.
    public init(height: Int, width: Int) {
        self.init(rows: 0..<height, columns: 0..<width)
    }

    public var isEmpty: Bool { rows.isEmpty || columns.isEmpty }
    public var pixels: Int { rows.count * columns.count }
    public var description: String { "rows \(rows), columns \(columns)" }

    /// Whether this lies inside an H×W map.
    public func isInside(height: Int, width: Int) -> Bool {
        rows.lowerBound >= 0 && rows.upperBound <= height && columns.lowerBound >= 0 && columns.upperBound <= width
    }

    /// Whether this covers the whole of an H×W map.
    public func covers(height: Int, width: Int) -> Bool {
        rows.lowerBound <= 0 && rows.upperBound >= height && columns.lowerBound <= 0 && columns.upperBound >= width
    }

    /// The output pixels of convolution `g` that read any pixel of this region of its input.
    public func reached(through g: ConvGeometry) -> MapRegion {
        func axis(_ r: Range<Int>, _ length: Int) -> Range<Int> {
            guard !r.isEmpty else { return 0..<0 }
            let low = max(0, Self.ceilDiv(r.lowerBound + g.padding - g.kernel + 1, g.stride))
            let high = min(length, Self.floorDiv(r.upperBound - 1 + g.padding, g.stride) + 1)
            return low < high ? low..<high : 0..<0
        }
        return MapRegion(rows: axis(rows, g.outHeight), columns: axis(columns, g.outWidth))
    }

    /// The f×f blocks that hold any pixel of this region: every value downsampled by f that can
    /// read it.
    public func downsampled(by f: Int) -> MapRegion {
        func axis(_ r: Range<Int>) -> Range<Int> {
            r.isEmpty ? 0..<0 : (r.lowerBound / f)..<Self.ceilDiv(r.upperBound, f)
        }
        return MapRegion(rows: axis(rows), columns: axis(columns))
    }

    /// The smallest rectangle holding both.
    public func hull(_ other: MapRegion) -> MapRegion {
        if isEmpty { return other }
        if other.isEmpty { return self }
        return MapRegion(rows: min(rows.lowerBound, other.rows.lowerBound)..<max(rows.upperBound, other.rows.upperBound),
                         columns: min(columns.lowerBound, other.columns.lowerBound)..<max(columns.upperBound,
                                                                                            other.columns.upperBound))
    }

    private static func floorDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }
    private static func ceilDiv(_ a: Int, _ b: Int) -> Int { -floorDiv(-a, b) }
}
