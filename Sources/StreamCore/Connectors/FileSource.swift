#if canImport(Glibc)
    import Glibc
#endif

/// Reads JSON-lines or CSV files. Paths may be glob patterns, read in sorted order. A file larger than
/// `splitBytes` is cut into byte ranges of that size, each a split of its own, so several source workers
/// read one large file side by side; a line belongs to the range its first byte is in. Readers stream
/// each range in bounded chunks, so memory does not grow with the file.
public struct FileSource: SourceConnector {
    /// Default size of a file's byte-range splits.
    public static let defaultSplitBytes: Int64 = 64 << 20

    /// One split: the byte range `[start, end)` of file `file`.
    struct Range: Sendable {
        var file: Int
        var start: Int64
        var end: Int64
    }

    public let files: [String]
    let ranges: [Range]
    let format: RecordFormat
    let header: Bool
    let chunkBytes: Int
    let makeDecoder: @Sendable (Schema, [String]?) -> any RecordDecoder

    /// Expands the spec's patterns now, so that a missing input is a configuration error before anything runs.
    /// `splitBytes` bounds a split's byte range, `chunkBytes` a reader's buffer (it grows only for a longer line).
    public init(
        spec: FileSourceSpec, format: RecordFormat, splitBytes: Int64 = FileSource.defaultSplitBytes,
        chunkBytes: Int = 1 << 20,
        makeDecoder: @escaping @Sendable (_ schema: Schema, _ csvHeader: [String]?) -> any RecordDecoder
    ) throws(StreamError) {
        var files: [String] = []
        for pattern in spec.paths {
            let matches = FileSource.glob(pattern)
            guard !matches.isEmpty else {
                throw StreamError(.config, "source file `\(pattern)` matches no file")
            }
            files.append(contentsOf: matches)
        }
        precondition(splitBytes > 0 && chunkBytes > 0)
        var ranges: [Range] = []
        for (i, path) in files.enumerated() {
            var info = stat()
            let size = stat(path, &info) == 0 ? Int64(info.st_size) : 0
            var start: Int64 = 0
            repeat {
                let end = size - start > splitBytes ? start + splitBytes : Int64.max
                ranges.append(Range(file: i, start: start, end: end))
                start = end
            } while start < size
        }
        self.files = files
        self.ranges = ranges
        self.format = format
        self.header = spec.header
        self.chunkBytes = chunkBytes
        self.makeDecoder = makeDecoder
    }

    public var splitCount: Int { ranges.count }

    public func openReader(_ context: SourceContext) throws(StreamError) -> any SourceReader {
        let mine = Array(stride(from: context.worker, to: ranges.count, by: context.workers))
        return FileReader(source: self, context: context, splits: mine)
    }

    /// The sorted files matching a glob pattern (a plain path matches itself when it exists).
    public static func glob(_ pattern: String) -> [String] {
        var g = glob_t()
        defer { globfree(&g) }
        guard Glibc.glob(pattern, 0, nil, &g) == 0 else { return [] }
        return (0..<Int(g.gl_pathc)).compactMap { g.gl_pathv[$0].map { String(cString: $0) } }.sorted()
    }
}

/// Reads one worker's splits in order, line by line through a bounded buffer, decoding each line into
/// the batch.
final class FileReader: SourceReader {
    let source: FileSource
    let context: SourceContext
    let splits: [Int]
    let timeIndex: Int?
    var current = 0
    var decoder: (any RecordDecoder)?
    var chunk: LineChunks?
    /// The current line's number in its file, known when the split starts at the file's beginning.
    var line: Int?

    init(source: FileSource, context: SourceContext, splits: [Int]) {
        self.source = source
        self.context = context
        self.splits = splits
        self.timeIndex = context.spec.eventTime?.field.flatMap { context.schema.index(of: $0) }
    }

    func poll(into batch: inout Batch, maxRows: Int, timeoutMs: Int) throws(StreamError) -> SourcePoll {
        guard current < splits.count else { return SourcePoll(finished: true) }
        let split = splits[current]
        let range = source.ranges[split]
        let path = source.files[range.file]
        if chunk == nil { try open(range, path) }
        var maxTs = Int64.min
        var produced = 0
        var done = false
        while produced < maxRows {
            guard let (bytes, lineStart) = try chunk!.nextLine(path) else {
                done = true
                break
            }
            line = line.map { $0 + 1 }
            // A line belongs to the range its first byte is in; the next range's reader skips it.
            if lineStart >= range.end {
                done = true
                break
            }
            var failure: StreamError?
            bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
                if raw.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { return }
                var lineBytes = raw
                if let last = raw.last, last == UInt8(ascii: "\r") {
                    lineBytes = UnsafeRawBufferPointer(rebasing: raw[0..<(raw.count - 1)])
                }
                do throws(DecodeError) {
                    try decoder!.decode(lineBytes, into: &batch)
                    produced += 1
                    if let t = timeIndex, batch.columns[t].isValid(batch.count - 1) {
                        maxTs = max(maxTs, batch.columns[t].int64s[batch.count - 1])
                    }
                } catch {
                    let origin = line.map { "\(path):\($0)" } ?? "\(path) at byte \(lineStart)"
                    do throws(StreamError) {
                        try context.badRecords.handle(raw: lineBytes, origin: origin, error: error)
                    } catch {
                        failure = error
                    }
                }
            }
            if let failure { throw failure }
        }
        var progress = [
            SplitProgress(split: split, maxEventTime: maxTs == .min ? nil : maxTs, atEnd: done, finished: done)
        ]
        if done {
            current += 1
            chunk = nil
            decoder = nil
            if current < splits.count { progress.append(SplitProgress(split: splits[current])) }
        }
        return SourcePoll(splits: progress, finished: current >= splits.count)
    }

    private func open(_ range: FileSource.Range, _ path: String) throws(StreamError) {
        var header: [String]? = nil
        let chunks = try LineChunks(path: path, capacity: source.chunkBytes)
        if source.format == .csv && source.header {
            // Every range of a CSV file decodes by the file's first line.
            if let (first, _) = try chunks.nextLine(path) {
                var text = String(decoding: first, as: UTF8.self)
                if text.hasSuffix("\r") { text.removeLast() }
                header = text.split(separator: ",", omittingEmptySubsequences: false).map { name in
                    var n = Substring(name)
                    if n.hasPrefix("\""), n.hasSuffix("\""), n.count >= 2 { n = n.dropFirst().dropLast() }
                    return String(n)
                }
            }
        }
        if range.start > 0 {
            // Start one byte early and drop through the first newline: the line under way at `start`
            // belongs to the previous range (and if `start` begins a line, only the newline is dropped).
            try chunks.seek(to: range.start - 1, path)
            _ = try chunks.nextLine(path)
            line = nil
        } else {
            line = header == nil ? 0 : 1
        }
        chunk = chunks
        decoder = source.makeDecoder(context.schema, header)
    }
}

/// Lines of a file read through a buffer of bounded size (grown only to hold a line longer than it).
final class LineChunks {
    private let file: UnsafeMutablePointer<FILE>
    private var buffer: [UInt8]
    /// Valid bytes in `buffer`, the next line's start in it, and the file offset of `buffer[0]`.
    private var filled = 0
    private var next = 0
    private var offset: Int64 = 0
    private var eof = false

    init(path: String, capacity: Int) throws(StreamError) {
        guard let f = fopen(path, "rb") else {
            throw StreamError(.io, "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        file = f
        buffer = [UInt8](repeating: 0, count: capacity)
    }

    deinit { fclose(file) }

    func seek(to position: Int64, _ path: String) throws(StreamError) {
        guard fseeko(file, off_t(position), SEEK_SET) == 0 else {
            throw StreamError(.io, "cannot seek in \(path): \(String(cString: strerror(errno)))")
        }
        offset = position
        filled = 0
        next = 0
        eof = false
    }

    /// The next line without its newline, and its offset in the file; nil at the end of the file.
    func nextLine(_ path: String) throws(StreamError) -> (bytes: ArraySlice<UInt8>, start: Int64)? {
        while true {
            let found = buffer.withUnsafeBytes { raw -> Int? in
                guard next < filled, let base = raw.baseAddress else { return nil }
                guard let hit = memchr(base + next, Int32(UInt8(ascii: "\n")), filled - next) else { return nil }
                return base.distance(to: UnsafeRawPointer(hit))
            }
            if let nl = found {
                let start = next
                next = nl + 1
                return (buffer[start..<nl], offset + Int64(start))
            }
            if eof {
                guard next < filled else { return nil }
                let start = next
                next = filled
                return (buffer[start..<filled], offset + Int64(start))
            }
            try refill(path)
        }
    }

    /// Moves the unread tail to the front and reads more after it, growing the buffer when the tail fills it.
    private func refill(_ path: String) throws(StreamError) {
        let tail = filled - next
        if next > 0 {
            buffer.withUnsafeMutableBytes { raw in
                if tail > 0 { memmove(raw.baseAddress!, raw.baseAddress! + next, tail) }
            }
            offset += Int64(next)
            next = 0
            filled = tail
        }
        if filled == buffer.count { buffer.append(contentsOf: repeatElement(0, count: buffer.count)) }
        let want = buffer.count - filled
        let got = buffer.withUnsafeMutableBytes { raw in fread(raw.baseAddress! + filled, 1, want, file) }
        filled += got
        if got < want {
            if ferror(file) != 0 { throw StreamError(.io, "cannot read \(path): \(String(cString: strerror(errno)))") }
            eof = true
        }
    }
}
