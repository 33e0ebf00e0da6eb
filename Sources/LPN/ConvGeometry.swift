import CKernels

/// Shape of one 2-D convolution with a square kernel on an H×W input: what im2col, sgemm and
/// col2im need to agree on.
public struct ConvGeometry: Sendable, Equatable {
    public let inChannels: Int
    public let outChannels: Int
    public let kernel: Int
    public let stride: Int
    public let padding: Int
    public let inHeight: Int
    public let inWidth: Int

    public init(inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int,
                inHeight: Int, inWidth: Int) {
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.inHeight = inHeight
        self.inWidth = inWidth
    }

    /// The same convolution on an input of another size.
    public func resized(height: Int, width: Int) -> ConvGeometry {
        ConvGeometry(inChannels: inChannels, outChannels: outChannels, kernel: kernel, stride: stride,
                     padding: padding, inHeight: height, inWidth: width)
    }

    public var outHeight: Int { (inHeight + 2 * padding - kernel) / stride + 1 }
    public var outWidth: Int { (inWidth + 2 * padding - kernel) / stride + 1 }
    /// Rows of the im2col matrix: one per (input channel, ky, kx).
    public var patchLength: Int { inChannels * kernel * kernel }
    public var inPixels: Int { inHeight * inWidth }
    public var outPixels: Int { outHeight * outWidth }
    public var inCount: Int { inChannels * inPixels }
    public var outCount: Int { outChannels * outPixels }
    /// True when the kernel covers the whole unpadded input: im2col is then the identity.
    public var isFullWindow: Bool { padding == 0 && kernel == inHeight && kernel == inWidth }
    /// Multiply-adds of one forward application (one image).
    public var multiplyAdds: Int { outChannels * patchLength * outPixels }

    /// The same shape for the C kernels (im2col, col2im).
    var kernelShape: lpn_conv_shape {
        lpn_conv_shape(channels: inChannels, height: inHeight, width: inWidth, kernel: kernel, stride: stride,
                       padding: padding, out_height: outHeight, out_width: outWidth)
    }
}
