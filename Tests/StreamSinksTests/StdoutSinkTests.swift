import Foundation
import StreamCore
import StreamSinks
import Testing

@Suite struct StdoutSinkTests {
    let fields = [Field("worker", .int64), Field("row", .int64), Field("text", .string)]

    func pipeDescriptors() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [0, 0]
        try #require(pipe(&fds) == 0)
        return (fds[0], fds[1])
    }

    func readAll(_ fd: Int32) -> String {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return String(decoding: out, as: UTF8.self)
    }

    @Test func parallelWritersNeverInterleaveLines() throws {
        let (r, w) = try pipeDescriptors()
        defer { close(r) }
        let connector = StdoutSinkConnector(format: .csv, fileDescriptor: w)
        let schema = Schema(fields)
        let workers = 4
        let batches = 25
        // The reader drains the pipe while the writers run, so a full pipe cannot block them.
        let result = UnsafeSendableBox<String>()
        let readerDone = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            result.value = readAll(r)
            readerDone.signal()
        }
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            let context = SinkContext(worker: worker, workers: workers, schema: schema, profile: Profile(name: "p"))
            let writer = try! connector.openWriter(context)
            for b in 0..<batches {
                let rows: [[Value]] = (0..<20).map {
                    [.int64(Int64(worker)), .int64(Int64(b * 20 + $0)), .string(String(repeating: "x", count: 50))]
                }
                try! writer.write(makeBatch(fields, rows))
            }
            try! writer.close()
        }
        close(w)
        readerDone.wait()
        let lines = result.value!.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.first == "worker,row,text")
        #expect(lines.last == "")
        let body = lines.dropFirst().dropLast()
        #expect(body.count == workers * batches * 20)
        var seen = Set<String>()
        for line in body {
            let cells = line.split(separator: ",")
            #expect(cells.count == 3 && cells[2].count == 50, "torn line: \(line)")
            seen.insert(cells.prefix(2).joined(separator: ","))
        }
        #expect(seen.count == workers * batches * 20)
    }

    @Test func jsonLinesGoOutInOrderForOneWriter() throws {
        let (r, w) = try pipeDescriptors()
        defer { close(r) }
        let writer = try StdoutSinkConnector(format: .json, fileDescriptor: w)
            .openWriter(SinkContext(worker: 0, workers: 1, schema: Schema(fields), profile: Profile(name: "p")))
        let batch = makeBatch(fields, [[.int64(0), .int64(1), .string("a")], [.int64(0), .int64(2), .string("b")]])
        try writer.write(batch)
        try writer.close()
        close(w)
        #expect(readAll(r) == jsonLine(batch, 0) + "\n" + jsonLine(batch, 1) + "\n")
        #expect(writer.metrics()["rows_written"] == 2)
    }

    @Test func closedReaderEndsTheSinkWithStdoutClosed() throws {
        let (r, w) = try pipeDescriptors()
        defer { close(w) }
        close(r)
        let writer = try StdoutSinkConnector(format: .json, fileDescriptor: w)
            .openWriter(SinkContext(worker: 0, workers: 1, schema: Schema(fields), profile: Profile(name: "p")))
        let batch = makeBatch(fields, [[.int64(0), .int64(1), .string("a")]])
        do {
            try writer.write(batch)
            Issue.record("write to a closed pipe succeeded")
        } catch {
            #expect(error.kind == .sink)
            #expect(error.message == "stdout closed")
        }
    }
}

/// A slot one thread fills and another reads after a semaphore says it is filled.
final class UnsafeSendableBox<T>: @unchecked Sendable {
    var value: T?
}
