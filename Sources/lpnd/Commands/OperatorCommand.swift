import ArgumentParser
import Foundation
import LPN
import Reconstruction
import TensorIO

struct OperatorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "operator",
        abstract: "Inspect a pipeline's forward operator.",
        subcommands: [OperatorExportCommand.self])
}

struct OperatorExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the operator's arrays (.npy) and operator.json, so another program can make measurements.")

    @Option(help: "Pipeline file (.yaml).") var pipeline: String
    @Option(help: "Output directory (created).") var output: String

    func run() throws {
        let p = try Pipeline.load(path: pipeline)
        let files = try OperatorExport.export(p, to: output)
        for f in files { print((output as NSString).appendingPathComponent(f)) }
    }
}
