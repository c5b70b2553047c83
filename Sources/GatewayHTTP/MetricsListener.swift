import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// The Prometheus text exposition as an answer.
func metricsResponse(_ text: String) -> Response {
    jsonResponse(.ok, text, contentType: "text/plain; version=0.0.4; charset=utf-8")
}

/// `serve --metrics-listen HOST:PORT`: `GET /metrics` on a listener of its own, plain HTTP and
/// without a token (keep it on loopback or a monitoring network), with the API listener's
/// connection and slow-client limits. Any other path or method is a coded problem. It runs
/// as long as the gateway's application.
struct MetricsListener: Service {
    let listen: ListenSettings
    let metrics: GatewayMetrics
    let source: MetricsSource

    func run() async throws {
        let router = Router(context: ListenerContext.self)
        router.add(middleware: RequestLogMiddleware(metrics: nil, logger: .lines("sealgate.metrics")))
        router.add(middleware: ProblemMiddleware<ListenerContext>(metrics: metrics))
        let (metrics, source) = (self.metrics, self.source)
        router.get("metrics") { _, _ -> Response in metricsResponse(await metrics.render(source)) }
        router.answerMethodsNotAllowed()
        let out = Logger.lines("sealgate.serve")
        let listen = self.listen
        let app = Application(
            router: router, server: try listen.serverBuilder(identity: nil),
            configuration: listen.applicationConfiguration(serverName: "sealgate-metrics"),
            onServerRunning: { channel in out.info("metrics served at \(listen.url(port: channel.localAddress?.port ?? listen.port))/metrics") },
            logger: .lines("sealgate.metrics", to: .standardError))
        // A service of the gateway's group: it stops with it.
        try await app.run()
    }
}
