import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A blocking HTTP/1.1 client for the control endpoint (SwiftNIO), for the commands that ask a running job:
/// `status`, `top`, `graph --status`. One request per connection.
public struct ControlClient: Sendable {
    public let url: String
    let host: String
    let port: Int

    /// `url` as written to `control.json`: `http://HOST:PORT`.
    public init?(url: String) {
        guard url.hasPrefix("http://") else { return nil }
        var rest = url.dropFirst("http://".count)
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard let address = ControlAddress(String(rest)) else { return nil }
        self.url = url
        host = address.host
        port = address.port
    }

    /// `request` with the method by name (`GET`, `POST`), for callers that do not import NIO.
    public func send(_ method: String, _ path: String, timeoutMs: Int64 = 5000) throws(ControlError)
        -> (status: Int, body: [UInt8])
    {
        try request(method.uppercased() == "POST" ? .POST : .GET, path, timeoutMs: timeoutMs)
    }

    /// Sends one request; returns the status and the body. Throws when the endpoint cannot be reached.
    public func request(_ method: HTTPMethod = .GET, _ path: String, timeoutMs: Int64 = 5000) throws(ControlError)
        -> (status: Int, body: [UInt8])
    {
        let group = MultiThreadedEventLoopGroup.singleton
        let promise = group.next().makePromise(of: (Int, [UInt8]).self)
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(.milliseconds(timeoutMs))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ResponseCollector(promise: promise))
                }
            }
        do {
            let channel = try bootstrap.connect(host: host, port: port).wait()
            var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
            head.headers.add(name: "Host", value: "\(host):\(port)")
            head.headers.add(name: "Connection", value: "close")
            head.headers.add(name: "Content-Length", value: "0")
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
            let timeout = channel.eventLoop.scheduleTask(in: .milliseconds(timeoutMs)) {
                promise.fail(ControlError(status: 0, message: "no answer from \(url)\(path) within \(timeoutMs) ms"))
                channel.close(promise: nil)
            }
            let result = try promise.futureResult.wait()
            timeout.cancel()
            channel.close(promise: nil)
            return result
        } catch let error as ControlError {
            throw error
        } catch {
            promise.fail(error)
            throw ControlError(status: 0, message: "cannot reach the job's control endpoint at \(url): \(error)")
        }
    }

    /// `GET /status`, decoded.
    public func status() throws(ControlError) -> JobStatus {
        let (code, body) = try request(.GET, "/status")
        guard code == 200 else { throw ControlError(status: code, message: "\(url)/status answered \(code)") }
        do { return try JSONCoding.decode(JobStatus.self, from: body) } catch {
            throw ControlError(status: code, message: "\(url)/status is not a status document: \(error)")
        }
    }
}

/// Gathers one response and completes the promise at its end.
private final class ResponseCollector: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart
    private let promise: EventLoopPromise<(Int, [UInt8])>
    private var status = 0
    private var body: [UInt8] = []

    init(promise: EventLoopPromise<(Int, [UInt8])>) { self.promise = promise }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): status = Int(head.status.code)
        case .body(var buffer): body += buffer.readBytes(length: buffer.readableBytes) ?? []
        case .end: promise.succeed((status, body))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(ControlError(status: 0, message: "the control endpoint closed the connection"))
    }
}
