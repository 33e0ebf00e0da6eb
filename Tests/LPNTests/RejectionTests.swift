import Foundation
import LPN
import TensorIO
import Testing

/// Every malformed model or input is rejected with a message naming what is wrong.
@Suite struct RejectionTests {
    let validBytes = [UInt8](FileManager.default.contents(atPath: Fixtures.path("n32_c1.safetensors"))!)

    func load(_ bytes: [UInt8]) throws -> LPNModel {
        let path = Fixtures.scratch() + "/model.safetensors"
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return try LPNModel(path: path)
    }

    func message(_ body: () throws -> Void) -> String {
        do { try body(); return "" } catch { return "\(error)" }
    }

    /// Rewrites the JSON header of the valid fixture and repacks the file.
    func withHeader(_ edit: (inout [String: Any]) -> Void) -> [UInt8] {
        let length = Int((0..<8).reduce(UInt64(0)) { $0 | UInt64(validBytes[$1]) << (8 * UInt64($1)) })
        var header = try! JSONSerialization.jsonObject(with: Data(validBytes[8..<(8 + length)])) as! [String: Any]
        edit(&header)
        let json = [UInt8](try! JSONSerialization.data(withJSONObject: header))
        let size = UInt64(json.count)
        return (0..<8).map { UInt8((size >> (8 * UInt64($0))) & 0xFF) } + json + validBytes[(8 + length)...]
    }

    @Test func validFixtureLoads() throws {
        #expect(try load(validBytes).configuration.hidden == 8)
    }

    @Test func truncatedFileIsRejected() {
        let text = message { _ = try load(Array(validBytes.prefix(validBytes.count - 100))) }
        #expect(text.contains("truncated"), "\(text)")
        #expect(message { _ = try load([1, 2, 3]) }.contains("truncated"))
    }

    @Test func malformedHeaderIsRejected() {
        var bytes = validBytes
        bytes[8] = UInt8(ascii: "!")
        #expect(message { _ = try load(bytes) }.contains("not valid JSON"))
    }

    @Test func missingTensorIsNamed() {
        let bytes = withHeader { $0.removeValue(forKey: "lin.3.weight") }
        let text = message { _ = try load(bytes) }
        #expect(text.contains("'lin.3.weight' is missing"), "\(text)")
    }

    @Test func misshapedTensorIsNamed() {
        let bytes = withHeader { header in
            var entry = header["lin.0.bias"] as! [String: Any]
            let offsets = entry["data_offsets"] as! [Int]
            entry["shape"] = [offsets[1] / 4 - offsets[0] / 4, 1]
            header["lin.0.bias"] = entry
        }
        let text = message { _ = try load(bytes) }
        #expect(text.contains("'lin.0.bias' has shape"), "\(text)")
    }

    @Test func negativeConstrainedWeightIsRejected() throws {
        let model = try Fixtures.model("n32_c1")
        var tensors: [String: (shape: [Int], values: [Float])] = [:]
        let file = try SafeTensorsFile(path: Fixtures.path("n32_c1.safetensors"))
        for (key, entry) in file.tensors { tensors[key] = (entry.shape, entry.values) }
        tensors["lin.4.weight"]!.values[5] = -0.25
        let text = message { _ = try LPNModel(configuration: model.configuration, tensors: tensors) }
        #expect(text.contains("'lin.4.weight'") && text.contains("-0.25") && text.contains("≥ 0"), "\(text)")
        // Free layers may be negative.
        tensors["lin.4.weight"]!.values[5] = 0.25
        tensors["res.2.weight"]!.values[0] = -3
        tensors["lin.0.weight"]!.values[0] = -3
        _ = try LPNModel(configuration: model.configuration, tensors: tensors)
    }

    @Test func badMetadataIsNamed() {
        let negativeAlpha = withHeader { header in
            var meta = header["__metadata__"] as! [String: String]
            meta["alpha"] = "-0.5"
            header["__metadata__"] = meta
        }
        #expect(message { _ = try load(negativeAlpha) }.contains("alpha"))
        let badSize = withHeader { header in
            var meta = header["__metadata__"] as! [String: String]
            meta["size"] = "30"
            header["__metadata__"] = meta
        }
        #expect(message { _ = try load(badSize) }.contains("size = 30"))
    }

    @Test func nonFiniteInputIsRejected() throws {
        let prox = try LPNProx(model: try Fixtures.model("n32_c1"))
        for bad in [Float.nan, .infinity, -.infinity] {
            var x = Tensor(shape: [32, 32], data: randomImage(32 * 32, seed: 1))
            x.data[77] = bad
            let text = message { _ = try prox.apply(x) }
            #expect(text.contains("index 77") && text.contains("not finite"), "\(text)")
        }
    }

    @Test func unusableShapesAreRejected() throws {
        let prox = try LPNProx(model: try Fixtures.model("n32_c1"))
        let patches = try LPNProx(model: try Fixtures.model("n32_c1"), processing: .patches(stride: nil, weighting: .hann))
        let unpadded = try LPNProx(model: try Fixtures.model("n32_c1"), processing: .whole(padding: .unpadded))
        #expect(message { _ = try patches.apply(Tensor(zeros: [16, 16])) }.contains("smaller than"))
        #expect(message { _ = try unpadded.apply(Tensor(zeros: [36, 40])) }.contains("multiples of 8"))
        #expect(message { _ = try prox.apply(Tensor(zeros: [3, 32, 32])) }.contains("3 channel"))
        #expect(message { _ = try prox.apply(Tensor(zeros: [32])) }.contains("is not [H,W]"))
        #expect(message { _ = try patches.potential(Tensor(zeros: [40, 40])) }.contains("32×32"))
        #expect(message { _ = try LPNProx(model: try Fixtures.model("n32_c1"), processing: .patches(stride: 0, weighting: .hann)) }.contains("patch stride"))
    }
}
