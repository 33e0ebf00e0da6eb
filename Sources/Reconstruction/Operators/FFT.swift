import CFFTW
import Foundation
import Support

/// FFTW's planner (and plan destruction) is not thread-safe: every plan in the process is
/// made and destroyed inside this lock (planning is CPU work in microseconds, FFTW_ESTIMATE).
/// Executing existing plans needs no lock.
let fftwPlanner = Locked(())

private let fftwForward: Int32 = -1
private let fftwBackward: Int32 = 1
private let fftwEstimate: UInt32 = 1 << 6

/// An in-place, orthonormal complex FFT of fixed dimensions (1-D or 2-D, row-major) over a
/// buffer it owns (SIMD-aligned by fftwf_malloc). Fill `buffer` (interleaved re, im), call
/// `forward()` or `inverse()`. Plans are made once, under ``fftwPlanner``; one instance
/// per thread.
final class FFTPlan {
    let dimensions: [Int]
    let count: Int
    /// `count` complex values, interleaved (re, im).
    let buffer: UnsafeMutablePointer<Float>
    private let forwardPlan: OpaquePointer
    private let inversePlan: OpaquePointer
    private let scale: Float

    init(dimensions: [Int]) {
        self.dimensions = dimensions
        count = dimensions.reduce(1, *)
        scale = 1 / Float(count).squareRoot()
        let count = count
        (buffer, forwardPlan, inversePlan) = fftwPlanner.withLock { _ in
            let raw = fftwf_malloc(MemoryLayout<Float>.stride * 2 * count)!
            let buffer = raw.bindMemory(to: Float.self, capacity: 2 * count)
            buffer.initialize(repeating: 0, count: 2 * count)
            let complex = UnsafeMutableRawPointer(buffer).assumingMemoryBound(to: fftwf_complex.self)
            let dims = dimensions.map { Int32($0) }
            let plans = dims.withUnsafeBufferPointer {
                (fftwf_plan_dft(Int32(dims.count), $0.baseAddress, complex, complex, fftwForward, fftwEstimate)!,
                 fftwf_plan_dft(Int32(dims.count), $0.baseAddress, complex, complex, fftwBackward, fftwEstimate)!)
            }
            return (buffer, plans.0, plans.1)
        }
    }

    deinit {
        fftwPlanner.withLock { _ in
            fftwf_destroy_plan(forwardPlan)
            fftwf_destroy_plan(inversePlan)
            fftwf_free(buffer)
        }
    }

    /// Orthonormal forward transform of `buffer`, in place.
    func forward() {
        fftwf_execute(forwardPlan)
        scaleBuffer()
    }

    /// Orthonormal inverse transform of `buffer`, in place.
    func inverse() {
        fftwf_execute(inversePlan)
        scaleBuffer()
    }

    private func scaleBuffer() {
        let s = scale
        for i in 0..<(2 * count) { buffer[i] *= s }
    }

    /// Loads a real vector into the buffer (imaginary parts zero).
    func loadReal(_ x: UnsafePointer<Float>) {
        for i in 0..<count { buffer[2 * i] = x[i]; buffer[2 * i + 1] = 0 }
    }

    /// Loads interleaved complex values into the buffer.
    func loadComplex(_ x: UnsafePointer<Float>) {
        buffer.update(from: x, count: 2 * count)
    }
}
