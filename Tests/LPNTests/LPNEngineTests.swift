import LPN
import Testing

/// The engine's threads: bands of output rows and channel ranges shared out over threads give
/// the same ψ and f bit for bit as one thread (with OpenBLAS on one thread, as lpnd runs it).
@Suite struct LPNEngineTests {
    @Test(arguments: [2, 3])
    func threadsGiveTheSameResultBitForBit(threads: Int) throws {
        _ = blasSingleThreaded
        // 256×256 for a 32×32 model: every convolution runs in several bands.
        let model = try RandomLPN.make(hidden: 8, size: 32, inChannels: 1, beta: 100, alpha: 0.01, seed: 5)
        let single = LPNEngine(model: model, height: 256, width: 256, threads: 1)
        let several = LPNEngine(model: model, height: 256, width: 256, threads: threads)
        #expect(several.threads == threads)
        for seed in [UInt64(21), 22] {
            let x = randomImage(256 * 256, seed: seed)
            let (psi1, f1) = single.psiAndProx(x)
            let (psiN, fN) = several.psiAndProx(x)
            #expect(psi1 == psiN, "ψ: \(psi1) with one thread, \(psiN) with \(threads)")
            let differing = zip(f1, fN).filter { $0 != $1 }.count
            #expect(differing == 0, "f differs at \(differing) of \(f1.count) pixels with \(threads) threads")
        }
    }
}
