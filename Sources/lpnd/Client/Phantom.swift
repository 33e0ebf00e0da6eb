import Foundation
import LPN
import TensorIO
import Support

/// Synthetic MRI/CT-like test images: a few soft-edged ellipses with smooth intensity ramps
/// inside a body outline, deterministic from a seed. Values in [0, 1].
enum Phantom {
    static func make(height: Int, width: Int, seed: UInt64) -> Tensor {
        var rng = SplitMix64(seed: seed &* 0x9E37_79B9 &+ 17)
        func uniform(_ a: Double, _ b: Double) -> Double { a + (b - a) * rng.nextUnit() }
        struct Ellipse { var cx, cy, rx, ry, angle, value, gx, gy: Double }
        var shapes = [Ellipse(cx: 0, cy: 0, rx: uniform(0.75, 0.9), ry: uniform(0.8, 0.95), angle: uniform(-0.2, 0.2),
                              value: uniform(0.35, 0.5), gx: uniform(-0.1, 0.1), gy: uniform(-0.1, 0.1))]
        for _ in 0..<Int(uniform(4, 9)) {
            shapes.append(Ellipse(cx: uniform(-0.5, 0.5), cy: uniform(-0.5, 0.5), rx: uniform(0.05, 0.3), ry: uniform(0.05, 0.3),
                                  angle: uniform(0, .pi), value: uniform(-0.25, 0.45), gx: uniform(-0.2, 0.2), gy: uniform(-0.2, 0.2)))
        }
        var data = [Float](repeating: 0, count: height * width)
        let edge = 2.0 / Double(min(height, width))  // soft edge about one pixel wide
        for y in 0..<height {
            for x in 0..<width {
                let u = 2 * (Double(x) + 0.5) / Double(width) - 1, v = 2 * (Double(y) + 0.5) / Double(height) - 1
                var value = 0.0
                for s in shapes {
                    let du = u - s.cx, dv = v - s.cy
                    let p = (du * cos(s.angle) + dv * sin(s.angle)) / s.rx
                    let q = (-du * sin(s.angle) + dv * cos(s.angle)) / s.ry
                    let r = (p * p + q * q).squareRoot()
                    let inside = 1 / (1 + exp((r - 1) / (edge / min(s.rx, s.ry))))
                    value += inside * (s.value + s.gx * du + s.gy * dv)
                }
                data[y * width + x] = Float(min(max(value, 0), 1))
            }
        }
        return Tensor(shape: [height, width], data: data)
    }
}
