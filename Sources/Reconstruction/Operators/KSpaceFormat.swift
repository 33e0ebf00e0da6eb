import Foundation

/// Where k-space's DC sample sits in a stored array.
///
/// - `unshifted`: index (0, 0) is DC, as `numpy.fft.fft2(x, norm="ortho")` (lpnd's operators).
/// - `centered`: DC at (H/2, W/2), the scanner, ISMRMRD and BART layout, defined as BART's
///   `fftc`: y_c = fftshift(F(ifftshift(x))). For even sides this is
///   y_c[(k + H/2) mod H, (l + W/2) mod W] = (−1)^(k+l) · y_u[k, l] (docs/MATH.md §7).
public enum KSpaceLayout: String, Sendable, CaseIterable {
    case unshifted, centered
}

/// How k-space arrives on the wire or in a file, and how it becomes the operator's
/// measurement: coils, layout and readout oversampling (docs/PIPELINES.md, `operator.kspace`).
///
///     wire [C, H, os·W] (layout)  ──toOperator──▶  operator [C, H, W] (unshifted)
///         layout → unshifted on the os·W grid; readout: F⁻¹ₓ, keep the middle W columns, Fₓ
///
/// `fromOperator` is the exact inverse direction (zero-padding the readout's image domain),
/// used by simulation. Coils = 0 means a single-coil [H, W] measurement.
public struct KSpaceFormat: Sendable, Equatable {
    public var coils: Int
    public var height: Int, width: Int
    public var layout: KSpaceLayout
    public var readoutOversampling: Int

    public init(coils: Int = 0, height: Int, width: Int, layout: KSpaceLayout = .unshifted, readoutOversampling: Int = 1) {
        self.coils = coils
        self.height = height
        self.width = width
        self.layout = layout
        self.readoutOversampling = readoutOversampling
    }

    /// Samples across the readout as sent (os·W).
    public var readoutLength: Int { width * readoutOversampling }
    /// Planes (coils) of the measurement: at least 1.
    public var planes: Int { max(coils, 1) }
    /// The measurement's shape as sent: [C, H, os·W], or [H, os·W] for single coil.
    public var wireShape: [Int] { (coils > 0 ? [coils] : []) + [height, readoutLength] }
    /// Whether the wire and the operator store k-space identically (nothing to convert).
    public var isIdentity: Bool { layout == .unshifted && readoutOversampling == 1 }

    /// Row index in the operator's (unshifted) layout of a wire row.
    public func operatorRow(_ wireRow: Int) -> Int {
        layout == .centered ? (wireRow + height - height / 2) % height : wireRow
    }

    /// Index in the operator's [H, W] mask of a mask file's [row, column] (the file is in this
    /// layout). For even sides the shift is its own inverse, so the same index maps the
    /// operator's mask back to the file's layout.
    public func operatorMaskIndex(row: Int, column: Int) -> Int {
        operatorRow(row) * width + (layout == .centered ? (column + width - width / 2) % width : column)
    }

    /// A converter (own FFT plans; one per thread).
    public func makeConverter() -> KSpaceConverter { KSpaceConverter(format: self) }
}

/// Converts measurements between a ``KSpaceFormat``'s wire form and the operator's
/// [C, H, W] unshifted k-space. Owns 1-D FFT plans over the readout, so one per thread.
public final class KSpaceConverter {
    public let format: KSpaceFormat
    private let long: FFTPlan?, short: FFTPlan?

    init(format: KSpaceFormat) {
        self.format = format
        let oversampled = format.readoutOversampling > 1
        long = oversampled ? FFTPlan(dimensions: [format.readoutLength]) : nil
        short = oversampled ? FFTPlan(dimensions: [format.width]) : nil
    }

    /// Floats of one wire measurement, and of one operator measurement.
    public var wireCount: Int { 2 * format.planes * format.height * format.readoutLength }
    public var operatorCount: Int { 2 * format.planes * format.height * format.width }

    /// Wire [C, H, os·W] (its layout) → operator [C, H, W] (unshifted).
    public func toOperator(_ wire: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>) {
        let f = format, h = f.height, w = f.width, n = f.readoutLength
        for p in 0..<f.planes {
            for r in 0..<h {
                let src = wire + 2 * (p * h + r) * n
                let dst = out + 2 * (p * h + f.operatorRow(r)) * w
                guard let long, let short else { unshift(src, row: r, into: dst, n); continue }
                // The os·W line to the image domain, keep the middle W samples, back to k-space.
                unshift(src, row: r, into: long.buffer, n)
                long.inverse()
                short.buffer.update(from: long.buffer + 2 * (n / 2 - w / 2), count: 2 * w)
                short.forward()
                dst.update(from: short.buffer, count: 2 * w)
            }
        }
    }

    /// Operator [C, H, W] (unshifted) → wire [C, H, os·W] (its layout): the inverse of
    /// ``toOperator(_:_:)`` (the oversampled readout's image is zero outside the middle W).
    public func fromOperator(_ values: UnsafePointer<Float>, _ wire: UnsafeMutablePointer<Float>) {
        let f = format, h = f.height, w = f.width, n = f.readoutLength
        for p in 0..<f.planes {
            for r in 0..<h {
                let src = values + 2 * (p * h + f.operatorRow(r)) * w
                let dst = wire + 2 * (p * h + r) * n
                guard let long, let short else { shift(src, row: r, into: dst, n); continue }
                short.buffer.update(from: src, count: 2 * w)
                short.inverse()
                long.buffer.update(repeating: 0, count: 2 * n)
                (long.buffer + 2 * (n / 2 - w / 2)).update(from: short.buffer, count: 2 * w)
                long.forward()
                shift(long.buffer, row: r, into: dst, n)
            }
        }
    }

    /// (−1)^(k+l) for wire row r, column c of a centered line (1 when unshifted).
    private func sign(row r: Int, column c: Int, _ n: Int) -> Float {
        let k = format.operatorRow(r), l = (c + n - n / 2) % n
        return (k + l) % 2 == 0 ? 1 : -1
    }

    /// One wire line (length n, wire row r) to unshifted order.
    private func unshift(_ src: UnsafePointer<Float>, row r: Int, into dst: UnsafeMutablePointer<Float>, _ n: Int) {
        guard format.layout == .centered else { dst.update(from: src, count: 2 * n); return }
        for c in 0..<n {
            let l = (c + n - n / 2) % n, s = sign(row: r, column: c, n)
            dst[2 * l] = s * src[2 * c]; dst[2 * l + 1] = s * src[2 * c + 1]
        }
    }

    /// One unshifted line to wire order (row r of the wire).
    private func shift(_ src: UnsafePointer<Float>, row r: Int, into dst: UnsafeMutablePointer<Float>, _ n: Int) {
        guard format.layout == .centered else { dst.update(from: src, count: 2 * n); return }
        for c in 0..<n {
            let l = (c + n - n / 2) % n, s = sign(row: r, column: c, n)
            dst[2 * c] = s * src[2 * l]; dst[2 * c + 1] = s * src[2 * l + 1]
        }
    }
}
