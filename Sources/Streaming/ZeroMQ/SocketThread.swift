import Foundation
import Support

/// Runs a socket's whole life on one dedicated thread (ZeroMQ sockets are not thread-safe):
/// `setup` creates and binds it there, the caller learns synchronously whether that worked,
/// then `run` uses it until it returns.
public enum SocketThread {
    private final class StartResult: @unchecked Sendable {  // safe: written before `ready` is signalled, read after the wait
        var error: Error?
    }

    /// - Returns: what finishes when the thread has ended (join it with a deadline).
    public static func start(name: String, setup: @escaping @Sendable () throws -> ZMQSocket,
                      run: @escaping @Sendable (ZMQSocket) -> Void) throws -> Completion {
        let ready = DispatchSemaphore(value: 0)  // setup runs in microseconds to milliseconds: bind or fail
        let finished = Completion()
        let result = StartResult()
        let thread = Thread {
            let socket: ZMQSocket
            do {
                socket = try setup()
            } catch {
                result.error = error
                ready.signal()
                finished.finish()
                return
            }
            ready.signal()
            run(socket)
            finished.finish()
        }
        thread.name = name
        thread.start()
        ready.wait()
        if let error = result.error { throw error }
        return finished
    }
}
