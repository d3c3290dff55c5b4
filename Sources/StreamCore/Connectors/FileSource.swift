#if canImport(Glibc)
    import Glibc
#endif

/// Reads JSON-lines or CSV files; each file is a split, files are spread over the workers in sorted order.
/// Paths may be glob patterns.
public struct FileSource: SourceConnector {
    public let files: [String]
    let format: RecordFormat
    let header: Bool
    let makeDecoder: @Sendable (Schema, [String]?) -> any RecordDecoder

    /// Expands the spec's patterns now, so that a missing input is a configuration error before anything runs.
    public init(
        spec: FileSourceSpec, format: RecordFormat,
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
        self.files = files
        self.format = format
        self.header = spec.header
        self.makeDecoder = makeDecoder
    }

    public var splitCount: Int { files.count }

    public func openReader(_ context: SourceContext) throws(StreamError) -> any SourceReader {
        let mine = Array(stride(from: context.worker, to: files.count, by: context.workers))
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

/// Reads one worker's files line by line, in order, decoding each line into the batch.
final class FileReader: SourceReader {
    let source: FileSource
    let context: SourceContext
    let splits: [Int]
    var current = 0
    var data: [UInt8] = []
    var offset = 0
    var line = 0
    var decoder: (any RecordDecoder)?
    let timeIndex: Int?

    init(source: FileSource, context: SourceContext, splits: [Int]) {
        self.source = source
        self.context = context
        self.splits = splits
        self.timeIndex = context.spec.eventTime?.field.flatMap { context.schema.index(of: $0) }
    }

    func poll(into batch: inout Batch, maxRows: Int, timeoutMs: Int) throws(StreamError) -> SourcePoll {
        guard current < splits.count else { return SourcePoll(finished: true) }
        let split = splits[current]
        let path = source.files[split]
        if decoder == nil { try open(path) }
        var maxTs = Int64.min
        var produced = 0
        var dec: (any RecordDecoder)? = decoder
        defer { decoder = dec }
        var failure: StreamError?
        data.withUnsafeBytes { (all: UnsafeRawBufferPointer) in
            while produced < maxRows && offset < all.count && failure == nil {
                var end = offset
                while end < all.count && all[end] != UInt8(ascii: "\n") { end += 1 }
                var lineEnd = end
                if lineEnd > offset && all[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
                let bytes = UnsafeRawBufferPointer(rebasing: all[offset..<lineEnd])
                line += 1
                offset = end + 1
                if bytes.allSatisfy({ $0 == 32 || $0 == 9 }) { continue }
                do throws(DecodeError) {
                    try dec!.decode(bytes, into: &batch)
                    produced += 1
                    if let t = timeIndex, batch.columns[t].isValid(batch.count - 1) {
                        maxTs = max(maxTs, batch.columns[t].int64s[batch.count - 1])
                    }
                } catch {
                    do throws(StreamError) {
                        try context.badRecords.handle(raw: bytes, origin: "\(path):\(line)", error: error)
                    } catch {
                        failure = error
                    }
                }
            }
        }
        if let failure { throw failure }
        let done = offset >= data.count
        var progress = [
            SplitProgress(split: split, maxEventTime: maxTs == .min ? nil : maxTs, atEnd: done, finished: done)
        ]
        if done {
            current += 1
            dec = nil
            data = []
            if current < splits.count { progress.append(SplitProgress(split: splits[current])) }
        }
        return SourcePoll(splits: progress, finished: current >= splits.count)
    }

    private func open(_ path: String) throws(StreamError) {
        guard let f = fopen(path, "rb") else {
            throw StreamError(.io, "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        defer { fclose(f) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
            if n > 0 { out.append(contentsOf: chunk[0..<n]) }
            if n < chunk.count {
                if ferror(f) != 0 { throw StreamError(.io, "cannot read \(path): \(String(cString: strerror(errno)))") }
                break
            }
        }
        data = out
        offset = 0
        line = 0
        var header: [String]? = nil
        if source.format == .csv && source.header {
            var end = 0
            while end < data.count && data[end] != UInt8(ascii: "\n") { end += 1 }
            var text = String(decoding: data[0..<end], as: UTF8.self)
            if text.hasSuffix("\r") { text.removeLast() }
            header = text.split(separator: ",", omittingEmptySubsequences: false).map { name in
                var n = Substring(name)
                if n.hasPrefix("\""), n.hasSuffix("\""), n.count >= 2 { n = n.dropFirst().dropLast() }
                return String(n)
            }
            offset = min(end + 1, data.count)
            line = 1
        }
        decoder = source.makeDecoder(context.schema, header)
    }
}
