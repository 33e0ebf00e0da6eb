import ArgumentParser
import Foundation
import LPN
import Reconstruction
import TensorIO

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check pipeline files (schema, paths, model, operator); exit 1 if any is invalid.")

    @Argument(help: "Pipeline files.") var pipelines: [String]

    func run() throws {
        var failed = 0
        for path in pipelines {
            do {
                let p = try Pipeline.load(path: path)
                _ = try p.makeReconstructor()
                var prior = p.prior.typeName
                if case .lpn(_, _, let processing, _) = p.prior { prior += " (\(processing))" }
                let check = p.crossValidation.map { c in
                    ", check every \(c.every) frames (\(c.folds) folds against TV λ \(c.referenceLambda))"
                } ?? ""
                print("ok \(path): \(p.name) — \(p.operatorSpec.typeName), image \(p.imageShape) → measurement \(p.measurementShape) \(p.measurementType.rawValue), \(p.solver.kind.rawValue)\(p.solver.kind == .admm && p.solver.box ? " (box 0 ≤ x ≤ 1)" : "") + \(prior)\(check)")
            } catch {
                failed += 1
                FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            }
        }
        if failed > 0 { throw ExitCode(1) }
    }
}
