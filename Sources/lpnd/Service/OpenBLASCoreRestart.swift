import Foundation
import LPN

/// Restarts the process once with OPENBLAS_CORETYPE set when OpenBLAS chose kernels weaker
/// than the CPU supports (``OpenBLASCoreChoice``). OpenBLAS reads the variable only when it
/// loads, before `main`, so the only way to apply it is a fresh image of the same process:
/// `execv` keeps the PID, the arguments, the environment and open descriptors (systemd's
/// notify socket included). An OPENBLAS_CORETYPE the user set is never overridden. The restart
/// also sets OPENBLAS_NUM_THREADS=1 when unset: lpnd runs OpenBLAS on one thread
/// (``FrameThreads``), so the restarted image starts no thread pool, whose idle threads would
/// otherwise spin for a while after start.
enum OpenBLASCoreRestart {
    /// Set on the restarted process: the core OpenBLAS had chosen, for the log.
    static let detectedVariable = "LPND_OPENBLAS_DETECTED"

    static func restartIfNeeded() {
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil else { return }
        let current = openBLASCoreName()
        guard let core = OpenBLASCoreChoice.replacement(for: current) else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        setenv(detectedVariable, current, 1)
        let setThreads = ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"] == nil
        if setThreads { setenv("OPENBLAS_NUM_THREADS", "1", 1) }
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // exec failed (no /proc): go on with the kernels OpenBLAS chose.
        unsetenv("OPENBLAS_CORETYPE")
        unsetenv(detectedVariable)
        if setThreads { unsetenv("OPENBLAS_NUM_THREADS") }
    }

    /// One line for the log: the kernels in use and, after a restart, why.
    static var summary: String {
        var text = "OpenBLAS \(openBLASCoreName()) kernels, engine \(OpenBLASCoreChoice.kernelLevel) kernels"
        if let detected = ProcessInfo.processInfo.environment[detectedVariable] {
            text += " (OpenBLAS had chosen \(detected) on this CPU; restarted with OPENBLAS_CORETYPE=\(openBLASCoreName()))"
        }
        return text
    }
}
