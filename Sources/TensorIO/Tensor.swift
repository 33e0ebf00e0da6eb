/// A dense float32 array in row-major (C) order with an explicit shape.
///
/// This is the currency between file formats, the LPN engine and the CLI: contiguous storage,
/// no nested arrays.
public struct Tensor: Sendable, Equatable {
    public var shape: [Int]
    public var data: [Float]

    public init(shape: [Int], data: [Float]) {
        precondition(shape.reduce(1, *) == data.count, "shape \(shape) does not match \(data.count) values")
        self.shape = shape
        self.data = data
    }

    public init(zeros shape: [Int]) {
        self.init(shape: shape, data: [Float](repeating: 0, count: shape.reduce(1, *)))
    }

    public var count: Int { data.count }

    /// The first non-finite value, if any, as (flat index, value).
    public var firstNonFinite: (index: Int, value: Float)? {
        for (i, v) in data.enumerated() where !v.isFinite { return (i, v) }
        return nil
    }
}
