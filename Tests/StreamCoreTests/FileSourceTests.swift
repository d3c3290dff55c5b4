import Foundation
import Testing

@testable import StreamCore

/// The file source streams in bounded chunks and cuts large files into byte-range splits: every line is
/// read exactly once, whatever the split size, the chunk size and the number of workers.
@Suite struct FileSourceTests {
    static let schema = Schema([Field("order_id", .int64), Field("shop", .string)])

    static func spec(_ path: String, format: RecordFormat = .json) -> PipelineSpec {
        PipelineSpec(
            name: "files", schema: schema,
            source: SourceSpec(kind: .file(FileSourceSpec(paths: [path])), format: format),
            operators: [], sink: SinkSpec(kind: .null))
    }

    static func write(_ text: String) throws -> String {
        let dir = NSTemporaryDirectory() + "streamctl-files-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/orders.jsonl"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func readIDs(_ path: String, format: RecordFormat, splitBytes: Int64, chunkBytes: Int, workers: Int)
        throws -> [Int64]
    {
        let source = try FileSource(
            spec: FileSourceSpec(paths: [path]), format: format, splitBytes: splitBytes, chunkBytes: chunkBytes
        ) { schema, header in RecordDecoders.make(format: format, schema: schema, csvHeader: header) }
        let rows = try runToCompletion(spec(path, format: format), parallelism: workers, source: source).rows
        return rows.map { row -> Int64 in
            if case .int64(let v) = row[0] { return v }
            return -1
        }.sorted()
    }

    /// Lines of uneven length (some longer than the chunk), one with CRLF, blank lines, no final newline.
    @Test(arguments: [1, 2, 3])
    func everyLineIsReadOnceAcrossSplitsAndChunks(workers: Int) throws {
        var text = ""
        for i in 1...400 {
            let pad = String(repeating: "x", count: (i * 37) % 150)
            text += "{\"order_id\": \(i), \"shop\": \"shop-\(pad)\"}" + (i == 7 ? "\r\n" : "\n")
            if i % 97 == 0 { text += "\n" }
        }
        text += "{\"order_id\": 401, \"shop\": \"last\"}"
        let path = try Self.write(text)
        for splitBytes: Int64 in [1, 257, 4_096, 1 << 30] {
            let ids = try Self.readIDs(path, format: .json, splitBytes: splitBytes, chunkBytes: 64, workers: workers)
            #expect(ids == Array(1...401), "split \(splitBytes) bytes")
        }
    }

    /// Fixed-length lines with splits of exactly two lines: every range starts at a line's first byte.
    @Test func aSplitStartingExactlyAtALineKeepsThatLine() throws {
        let lines = (1...100).map { i in
            "{\"order_id\": \(i), \"shop\": \"\(String(repeating: "s", count: 4 - String(i).count))\"}\n"
        }
        let path = try Self.write(lines.joined())
        let length = Int64(lines[0].utf8.count)
        let ids = try Self.readIDs(path, format: .json, splitBytes: 2 * length, chunkBytes: 1 << 20, workers: 2)
        #expect(ids == Array(1...100))
    }

    /// Every range of a CSV file decodes by the file's header line.
    @Test func csvRangesAllUseTheHeader() throws {
        let text = "shop,order_id\n" + (1...300).map { "s\($0 % 7),\($0)\n" }.joined()
        let path = try Self.write(text)
        let ids = try Self.readIDs(path, format: .csv, splitBytes: 500, chunkBytes: 32, workers: 2)
        #expect(ids == Array(1...300))
    }
}
