import Foundation

/// Runs a socket's whole life on one dedicated thread (ZeroMQ sockets are not thread-safe):
/// `setup` creates and binds it there, the caller learns synchronously whether that worked,
/// then `run` uses it until it returns.
public enum SocketThread {
    private final class StartResult: @unchecked Sendable {  // safe: written before `ready` is signalled, read after the wait
        var error: Error?
    }

    /// - Returns: a semaphore signalled once when the thread has finished.
    public static func start(name: String, setup: @escaping @Sendable () throws -> ZMQSocket,
                      run: @escaping @Sendable (ZMQSocket) -> Void) throws -> DispatchSemaphore {
        let ready = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
        let result = StartResult()
        let thread = Thread {
            let socket: ZMQSocket
            do {
                socket = try setup()
            } catch {
                result.error = error
                ready.signal()
                finished.signal()
                return
            }
            ready.signal()
            run(socket)
            finished.signal()
        }
        thread.name = name
        thread.start()
        ready.wait()
        if let error = result.error { throw error }
        return finished
    }
}
