import ArgumentParser

@main
struct LPNDCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lpnd",
        abstract: "Streaming reconstruction with learned proximal networks.",
        subcommands: [ProxCommand.self, PriorCommand.self, BenchCommand.self, SimulateCommand.self,
                      ReconstructCommand.self, OperatorCommand.self, ValidateCommand.self])
}
