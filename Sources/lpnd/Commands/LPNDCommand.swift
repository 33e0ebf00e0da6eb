import ArgumentParser
import Foundation
import LPN

@main
enum Entry {
    static func main() async {
        OpenBLASCoreRestart.restartIfNeeded()
        await LPNDCommand.main()
    }
}

struct LPNDCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lpnd",
        abstract: "Streaming reconstruction with learned proximal networks.",
        subcommands: [
            RunCommand.self, SendCommand.self, ListenCommand.self, DemoCommand.self,
            SimulateCommand.self, ReconstructCommand.self, OperatorCommand.self, ValidateCommand.self,
            ProxCommand.self, PriorCommand.self, CalibrateCommand.self, BenchCommand.self, KeygenCommand.self,
        ])
}
