/// Shape of one square 2-D convolution: what im2col, sgemm and col2im need to agree on.
public struct ConvGeometry: Sendable, Equatable {
    public let inChannels: Int
    public let outChannels: Int
    public let kernel: Int
    public let stride: Int
    public let padding: Int
    public let inSize: Int

    public init(inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int, inSize: Int) {
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.inSize = inSize
    }

    public var outSize: Int { (inSize + 2 * padding - kernel) / stride + 1 }
    /// Rows of the im2col matrix: one per (input channel, ky, kx).
    public var patchLength: Int { inChannels * kernel * kernel }
    public var outPixels: Int { outSize * outSize }
    public var inCount: Int { inChannels * inSize * inSize }
    public var outCount: Int { outChannels * outPixels }
    /// True when the kernel covers the whole unpadded input: im2col is then the identity.
    public var isFullWindow: Bool { padding == 0 && kernel == inSize }
    /// Multiply-adds of one forward application (one image).
    public var multiplyAdds: Int { outChannels * patchLength * outPixels }
}
