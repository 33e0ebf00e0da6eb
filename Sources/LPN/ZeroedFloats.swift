/// `count` floats (at least one), zeroed: the work buffers the engine and the whole-frame prox
/// own for their lifetime (their owners deallocate them).
func zeroedFloats(_ count: Int) -> UnsafeMutablePointer<Float> {
    let p = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
    p.initialize(repeating: 0, count: max(count, 1))
    return p
}
