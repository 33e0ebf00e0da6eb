import LPN
import TensorIO
import Testing

/// ψ and f against goldens computed by the PyTorch module in float64 (training/make_fixtures.py):
/// the model on N×N images (whole frame without padding) and the paper's uniform patches.
@Suite struct GoldenFixtureTests {
    static let cases = ["n32_c1", "n32_c3", "n128_c1", "ref128"]

    @Test(arguments: cases)
    func proxMatchesPyTorch(name: String) throws {
        let prox = try LPNProx(model: try Fixtures.model(name), processing: .whole(padding: .unpadded))
        let x = try Fixtures.tensor(name + "_x")
        let expected = try Fixtures.tensor(name + "_f")
        let f = try prox.apply(x)
        #expect(f.shape == expected.shape)
        let error = relativeMaxError(f.data, expected.data)
        #expect(error <= 1e-4, "relative max error of f for \(name): \(error)")
    }

    @Test(arguments: cases)
    func potentialMatchesPyTorch(name: String) throws {
        let prox = try LPNProx(model: try Fixtures.model(name), processing: .whole(padding: .unpadded))
        let psi = try prox.potential(try Fixtures.tensor(name + "_x"))
        let expected = try Fixtures.tensor(name + "_psi")
        #expect(psi.count == expected.count)
        let error = relativeMaxError(psi, expected.data)
        #expect(error <= 1e-4, "relative max error of ψ for \(name): \(error)")
    }

    @Test func patchwiseProxMatchesPyTorch() throws {
        let prox = try LPNProx(model: try Fixtures.model("n32_c1"), processing: .patches(stride: 16, weighting: .uniform))
        let f = try prox.apply(try Fixtures.tensor("n32_c1_x96"))
        let expected = try Fixtures.tensor("n32_c1_f96_s16")
        #expect(f.shape == expected.shape)
        #expect(relativeMaxError(f.data, expected.data) <= 1e-4)
    }

    @Test func convertedReferenceCheckpointCarriesItsLayout() throws {
        let model = try Fixtures.model("ref128")
        #expect(model.configuration.size == 128)
        #expect(model.configuration.architecture == "lpn_128")
    }
}
