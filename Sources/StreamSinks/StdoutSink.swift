import StreamCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Serialises every console write of the process, so lines of parallel workers never interleave.
private let outputLock = Mutex<Void>(())

/// Writes rows to standard output (or another descriptor) as JSON lines or CSV. Each writer encodes a
/// whole batch into one buffer and writes it with one locked `write` loop; a CSV header is written once
/// per connector, before the first row. A closed reader (`| head`) ends the sink with `stdout closed`.
public struct StdoutSinkConnector: SinkConnector {
    public let format: OutputFormat
    let fileDescriptor: Int32
    let header: HeaderOnce

    public init(format: OutputFormat) {
        self.init(format: format, fileDescriptor: STDOUT_FILENO)
    }

    /// Writes to `fileDescriptor` instead of standard output; the descriptor stays the caller's.
    public init(format: OutputFormat, fileDescriptor: Int32) {
        self.format = format
        self.fileDescriptor = fileDescriptor
        self.header = HeaderOnce()
    }

    public func openWriter(_ context: SinkContext) throws(StreamError) -> any SinkWriter {
        // A closed pipe must surface as EPIPE from write(2), not kill the process.
        signal(SIGPIPE, SIG_IGN)
        return StdoutSinkWriter(
            fd: fileDescriptor, encoder: RowEncoder(format: format, schema: context.schema), header: header,
            throttle: TokenBucket(profile: context.profile, workers: context.workers, clock: context.clock))
    }
}

/// Whether the header line of a stream has been written; read and set under `outputLock`.
final class HeaderOnce: Sendable {
    let written = Atomic<Bool>(false)
}

final class StdoutSinkWriter: SinkWriter {
    private let fd: Int32
    private let encoder: RowEncoder
    private let header: HeaderOnce
    private var throttle: TokenBucket
    private var buffer: [UInt8] = []
    private let counters = WriterCounters()

    init(fd: Int32, encoder: RowEncoder, header: HeaderOnce, throttle: TokenBucket) {
        self.fd = fd
        self.encoder = encoder
        self.header = header
        self.throttle = throttle
        buffer.reserveCapacity(64 << 10)
    }

    func write(_ batch: Batch) throws(StreamError) {
        guard !batch.isEmpty else { return }
        buffer.removeAll(keepingCapacity: true)
        encoder.encodeAll(batch, into: &buffer)
        throttle.acquire(records: batch.count, bytes: buffer.count)
        counters.throttledMs.store(throttle.throttledMs, ordering: .relaxed)
        let (fd, encoder, header) = (self.fd, self.encoder, self.header)
        let failure: Int32 = buffer.withUnsafeBytes { bytes in
            outputLock.withLock { _ in
                if encoder.hasHeader && !header.written.load(ordering: .relaxed) {
                    var line: [UInt8] = []
                    encoder.header(into: &line)
                    let e = POSIX.writeAll(fd, line)
                    if e != 0 { return e }
                    header.written.store(true, ordering: .relaxed)
                }
                return POSIX.writeAll(fd, bytes)
            }
        }
        if failure == EPIPE { throw StreamError(.sink, "stdout closed") }
        if failure != 0 { throw StreamError(.sink, "writing to stdout failed: \(POSIX.errorText(failure))") }
        counters.rows.add(Int64(batch.count), ordering: .relaxed)
        counters.bytes.add(Int64(buffer.count), ordering: .relaxed)
    }

    func metrics() -> [String: Int64] { counters.snapshot(files: false) }
}
