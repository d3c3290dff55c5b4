import Dispatch
import Foundation
import Hummingbird
import Logging
import NIOCore
import StreamCore
import Synchronization

/// A request to a route of the control endpoint, without HTTP library types.
public struct ControlRequest: Sendable {
    public var method: String
    public var path: String
    public var query: [String: String]
    public var body: [UInt8]
}

/// What a route answers.
public struct ControlResponse: Sendable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]

    public init(status: Int = 200, contentType: String, body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    /// A JSON document.
    public static func json<T: Encodable>(_ value: T, status: Int = 200) -> ControlResponse {
        ControlResponse(status: status, contentType: "application/json", body: JSONCoding.encode(value))
    }

    /// One line of text.
    public static func text(_ text: String, status: Int = 200) -> ControlResponse {
        ControlResponse(status: status, contentType: "text/plain; charset=utf-8", body: Array((text + "\n").utf8))
    }
}

/// The job's HTTP control endpoint (Hummingbird), by default on loopback: `GET /status` (JSON), `GET /metrics`
/// (Prometheus text), `POST /heap-profile`, and whatever routes the runner registers before `start()`.
///
/// Rates in `/status` and `/metrics` are over the last second: the endpoint samples the job once a second and
/// measures against the newest sample at least `minimumIntervalMs` old.
public final class ControlEndpoint: Sendable {
    /// A route's handler; runs on the endpoint's event loop threads, so it must not block for long.
    public typealias Handler = @Sendable (ControlRequest) async -> ControlResponse

    public let source: any ControlSource
    public let host: String
    public let requestedPort: Int
    private let routes = Mutex<[(method: String, path: String, handler: Handler)]>([])
    private let samples = Mutex<[JobSnapshot]>([])
    private let prometheus = PrometheusExport()
    private let boundPort = Mutex<Int?>(nil)
    private let task = Mutex<Task<Void, Never>?>(nil)
    private let finished = DispatchSemaphore(value: 0)
    private let sampleEveryMs: Int
    private let executor = ControlExecutor()
    private let minimumIntervalMs: Int

    public init(source: any ControlSource, address: ControlAddress, sampleEveryMs: Int = 1000) {
        self.source = source
        self.host = address.host
        self.requestedPort = address.port
        self.sampleEveryMs = sampleEveryMs
        self.minimumIntervalMs = sampleEveryMs * 9 / 10
    }

    /// Adds a route; call before `start()`.
    public func register(_ method: String, _ path: String, _ handler: @escaping Handler) {
        precondition(task.withLock { $0 == nil }, "register routes before start()")
        routes.withLock { $0.append((method.uppercased(), path, handler)) }
    }

    /// The address clients use, once started.
    public var url: String? { boundPort.withLock { $0 }.map { "http://\(urlHost):\($0)" } }

    private var urlHost: String { host.contains(":") ? "[\(host)]" : host }

    /// Binds and starts serving; returns the URL. Throws when the address cannot be bound.
    @discardableResult
    public func start() throws(ControlError) -> String {
        let router = Router()
        router.get("/status") { [self] _, _ in Self.hb(.json(self.status())) }
        router.get("/metrics") { [self] _, _ in
            Self.hb(
                ControlResponse(
                    contentType: "text/plain; version=0.0.4; charset=utf-8",
                    body: Array(self.prometheus.render(self.status()).utf8)))
        }
        router.post("/heap-profile") { [self] _, _ in
            do throws(ControlError) {
                let path = try self.source.dumpHeapProfile()
                return Self.hb(.json(["path": path]))
            } catch {
                return Self.hb(.json(["error": error.message], status: error.status))
            }
        }
        for route in routes.withLock({ $0 }) {
            let handler = route.handler
            router.on(RouterPath(route.path), method: HTTPRequest.Method(route.method) ?? .get) { request, _ in
                var request = request
                let body = (try? await request.collectBody(upTo: 1 << 20)).map { Array(buffer: $0) } ?? []
                var query: [String: String] = [:]
                for (k, v) in request.uri.queryParameters { query[String(k)] = String(v) }
                let r = ControlRequest(
                    method: route.method, path: request.uri.path, query: query, body: body)
                return Self.hb(await handler(r))
            }
        }

        let started = DispatchSemaphore(value: 0)
        let failure = Mutex<String?>(nil)
        var logger = Logger(label: "streamctl.control")
        logger.logLevel = .critical  // a cancelled server logs its shutdown as errors
        let app = Application(
            router: router,
            configuration: ApplicationConfiguration(
                address: .hostname(host, port: requestedPort), serverName: "streamctl"),
            onServerRunning: { [self] channel in
                self.boundPort.withLock { $0 = channel.localAddress?.port }
                started.signal()
            },
            logger: logger)
        let sampleEveryMs = self.sampleEveryMs
        let finished = self.finished
        let t = Task(executorPreference: executor) { [self] in
            let sampler = Task(executorPreference: executor) {
                while !Task.isCancelled {
                    self.sample()
                    try? await Task.sleep(for: .milliseconds(sampleEveryMs))
                }
            }
            do {
                // No signal handlers here: the runner owns SIGINT/SIGTERM (drain, then exit).
                try await app.runService(gracefulShutdownSignals: [])
            } catch {
                failure.withLock { $0 = "\(error)" }
            }
            sampler.cancel()
            started.signal()
            finished.signal()
        }
        task.withLock { $0 = t }
        started.wait()
        guard let url else {
            let reason = failure.withLock { $0 } ?? "the server stopped before it ran"
            throw ControlError(status: 0, message: "cannot serve the control endpoint on \(host):\(requestedPort): \(reason)")
        }
        return url
    }

    /// Stops serving and waits until the port is released.
    public func stop() {
        guard let t = task.withLock({ $0 }) else { return }
        t.cancel()
        finished.wait()
        finished.signal()  // a second stop() returns at once
    }

    /// The status now, with rates against a sample about a second old.
    public func status() -> JobStatus {
        let now = source.controlSnapshot()
        let minNs = UInt64(minimumIntervalMs) * 1_000_000
        let baseline = samples.withLock { s in
            s.last { now.job.takenAtNs &- $0.takenAtNs >= minNs && $0.takenAtNs <= now.job.takenAtNs } ?? s.first
        }
        let earlier = baseline.flatMap { $0.takenAtNs < now.job.takenAtNs ? $0 : nil }
        return JobStatus(now, since: earlier, nowMs: Int64(Date().timeIntervalSince1970 * 1000))
    }

    private func sample() {
        let snap = source.controlSnapshot().job
        samples.withLock { s in
            s.append(snap)
            if s.count > 5 { s.removeFirst(s.count - 5) }
        }
    }

    private static func hb(_ r: ControlResponse) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = r.contentType
        var buffer = ByteBuffer()
        buffer.writeBytes(r.body)
        return Response(
            status: HTTPResponse.Status(code: r.status), headers: headers, body: ResponseBody(byteBuffer: buffer))
    }
}

/// Where the endpoint listens: `HOST:PORT`, `:PORT` or `PORT` (loopback), `[::1]:PORT`. Port 0 picks a free one.
public struct ControlAddress: Sendable, Hashable {
    public var host: String
    public var port: Int

    public init(host: String = "127.0.0.1", port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses the `--http` value; nil when it is not an address.
    public init?(_ text: String) {
        var host = "127.0.0.1"
        var portText = Substring(text)
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { return nil }
            portText = rest.dropFirst()
        } else if let colon = text.lastIndex(of: ":") {
            let h = text[..<colon]
            if !h.isEmpty { host = h == "localhost" ? "127.0.0.1" : String(h) }
            portText = text[text.index(after: colon)...]
        }
        guard let port = Int(portText), (0...65535).contains(port), !host.isEmpty else { return nil }
        self.init(host: host, port: port)
    }

    /// True for 127.0.0.0/8 and ::1: only processes of this machine can connect.
    public var isLoopback: Bool { host.hasPrefix("127.") || host == "::1" }
}

/// JSON as the control endpoint and its clients write it: sorted keys, so documents compare and diff.
public enum JSONCoding {
    public static func encode<T: Encodable>(_ value: T) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Encoding our own plain structs cannot fail.
        return Array((try? encoder.encode(value)) ?? Data("{}".utf8))
    }

    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try JSONDecoder().decode(type, from: Data(bytes))
    }
}
