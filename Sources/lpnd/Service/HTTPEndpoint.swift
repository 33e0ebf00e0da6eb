import Foundation
import Hummingbird
import Logging
import Prometheus
import Streaming

/// The daemon's HTTP endpoint (Hummingbird; loopback by default, docs/DEPLOY.md "HTTP"):
///
/// - `GET /metrics`: every counter, histogram and gauge in Prometheus text format;
/// - `GET /healthz`: 200 while the pipelines make progress, 503 with the reason when a
///   reconstruction has run longer than `stall_timeout` (the watchdog's rule);
/// - `GET /readyz`: 200 while serving (every model loaded, every socket bound), 503 while
///   draining at shutdown;
/// - `GET /`: the live view page; `GET /live`: its Server-Sent Events; `GET /live/clients`:
///   how many pages are open.
enum HTTPEndpoint {
    static func application(daemon: Daemon, registry: PrometheusCollectorRegistry, live: LiveView, host: String, port: Int,
                            stallTimeout: Double, logger: Logger,
                            onRunning: @escaping @Sendable (Int) async -> Void) -> some ApplicationProtocol {
        let router = Router()
        router.get("/") { _, _ -> Response in text(Array(LivePage.html.utf8), contentType: "text/html; charset=utf-8") }
        router.get("live") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                     body: .init(asyncSequence: live.subscribe()))
        }
        router.get("live/clients") { _, _ -> Response in text(Array("\(live.clientCount)\n".utf8)) }
        router.get("metrics") { _, _ -> Response in
            daemon.refreshGauges()
            return text(registry.emitToBuffer(), contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
        router.get("healthz") { _, _ -> Response in
            if let reason = daemon.stallReason(after: stallTimeout) {
                return text(Array("stalled: \(reason)\n".utf8), status: .serviceUnavailable)
            }
            return text(Array("ok\n".utf8))
        }
        router.get("readyz") { _, _ -> Response in
            daemon.isStopping ? text(Array("stopping\n".utf8), status: .serviceUnavailable) : text(Array("ready\n".utf8))
        }
        return Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "lpnd"),
                           onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) },
                           logger: logger)
    }

    private static func text(_ bytes: [UInt8], status: HTTPResponse.Status = .ok,
                             contentType: String = "text/plain; charset=utf-8") -> Response {
        Response(status: status, headers: [.contentType: contentType], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
