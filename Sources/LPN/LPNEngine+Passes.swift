import CKernels
import COpenBLAS

/// The two passes of one evaluation (the formulas in ``LPNEngine``'s doc comment): forward to
/// ψ(x), keeping each stage's activation and softplus slope, then in reverse to ∇ψ(x).
extension LPNEngine {
    /// ψ(x): the forward pass, keeping each stage's activation z and slope σ' for the reverse one.
    func forward(_ image: UnsafePointer<Float>, scale: Float, quadratic: Bool) -> Float {
        let config = model.configuration
        for source in Self.skipSources {
            Downsample.apply(image, channels: channels, height: height, width: width, factor: source.rawValue,
                             into: skipInputs[source]!)
        }
        // Forward: z_l = σ(L_l * z_{l-1} + R_l * skip + b_l), keeping σ' for the reverse pass;
        // in a primed engine, only inside each stage's reach.
        for (l, stage) in model.stages.enumerated() {
            let g = linearGeometries[l]
            let input = l == 0 ? image : UnsafePointer(activations[l - 1])
            let pre = activations[l], region = primed ? reached[l] : nil
            convolve(input, stage.linear, g, direct: linearDirect[l], into: pre, accumulate: false, region: region)
            if let skip = stage.skip, let sg = skipGeometries[l], let source = stage.skipSource {
                convolve(skipInput(source, image), skip, sg, direct: skipDirect[l], into: pre, accumulate: true,
                         region: region)
            }
            let slope = slopes[l]
            stage.bias.withUnsafeBufferPointer { bias in
                let bias = bias.baseAddress!
                runs(of: region, channels: g.outChannels, height: g.outHeight, width: g.outWidth) { c, offset, count in
                    lpn_bias_softplus(pre + offset, slope + offset, bias + c, 1, count, config.beta)
                }
            }
        }
        let last = model.stages.count - 1
        let finalGeometry = linearGeometries[last]
        let pixels = finalGeometry.outPixels
        var network = Double(model.outputBias)
        for c in 0..<finalGeometry.outChannels {
            var sum = Double(0)
            for i in 0..<pixels { sum += Double(activations[last][c * pixels + i]) }
            network += Double(model.outputWeight[c]) * sum / Double(pixels)
        }
        var potential = Double(scale) * network
        if quadratic {
            var squaredNorm = Double(0)
            for i in 0..<imageCount { squaredNorm += Double(image[i]) * Double(image[i]) }
            potential += Double(config.alpha) * squaredNorm
        }
        return Float(potential)
    }

    /// ∇ψ(x) into `gradient`, from the forward pass's activations and slopes.
    func reverse(_ image: UnsafePointer<Float>, gradient: UnsafeMutablePointer<Float>, scale: Float, quadratic: Bool) {
        let config = model.configuration
        let last = model.stages.count - 1
        let finalGeometry = linearGeometries[last]
        let pixels = finalGeometry.outPixels

        // Reverse: δ_l = g_l ⊙ σ'_l; g_{l-1} = L_lᵀ δ_l; skip gradients collect R_lᵀ δ_l.
        gradient.update(repeating: 0, count: imageCount)
        for source in Self.skipSources {
            skipGradients[source]!.update(repeating: 0, count: channels * (height / source.rawValue) * (width / source.rawValue))
        }
        var upstream = gradientA, spare = gradientB
        for c in 0..<finalGeometry.outChannels {
            let value = scale * model.outputWeight[c] / Float(pixels)
            for i in 0..<pixels { upstream[c * pixels + i] = value }
        }
        // In a primed engine each δ is needed only inside its stage's reach: the image
        // gradient inside `varying` reads nothing else.
        for l in stride(from: last, through: 0, by: -1) {
            let stage = model.stages[l]
            let g = linearGeometries[l]
            let slope = slopes[l], delta = upstream
            runs(of: primed ? reached[l] : nil, channels: g.outChannels, height: g.outHeight,
                 width: g.outWidth) { _, offset, count in
                lpn_multiply(delta + offset, slope + offset, count)
            }
            if let skip = stage.skip, let sg = skipGeometries[l], let source = stage.skipSource {
                let target = source == .input ? gradient : skipGradients[source]!
                convolveAdjoint(upstream, skip, sg, direct: skipDirect[l], into: target, accumulate: true,
                                region: primed ? reachedSkip[l] : nil)
            }
            if l == 0 {
                convolveAdjoint(upstream, stage.linear, g, direct: linearDirect[l], into: gradient, accumulate: true,
                                region: primed ? varying : nil)
            } else {
                convolveAdjoint(upstream, stage.linear, g, direct: linearDirect[l], into: spare, accumulate: false,
                                region: primed ? reached[l - 1] : nil)
                swap(&upstream, &spare)
            }
        }
        for source in Self.skipSources {
            Downsample.accumulateAdjoint(skipGradients[source]!, channels: channels, height: height, width: width,
                                         factor: source.rawValue, into: gradient)
        }
        let twoAlpha = 2 * config.alpha
        if quadratic && twoAlpha != 0 {
            for i in 0..<imageCount { gradient[i] += twoAlpha * image[i] }
        }
        if primed, let varying {
            // outside `varying` the sums above are partial: write zeros there
            for c in 0..<channels {
                let plane = gradient + c * height * width
                for r in 0..<height {
                    let row = plane + r * width
                    guard varying.rows.contains(r) else { row.update(repeating: 0, count: width); continue }
                    row.update(repeating: 0, count: varying.columns.lowerBound)
                    (row + varying.columns.upperBound).update(repeating: 0, count: width - varying.columns.upperBound)
                }
            }
        }
    }
}
