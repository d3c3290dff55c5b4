import ArgumentParser
import Foundation

/// Writes DOT as it is, or through Graphviz's `dot` as SVG or PNG.
enum GraphRender {
    static func write(_ dot: String, format: String, to output: String?) throws {
        if format == "dot" {
            if let output {
                do { try Data(dot.utf8).write(to: URL(fileURLWithPath: output)) } catch {
                    log("error: cannot write \(output): \(error.localizedDescription)")
                    throw ExitCode(Exit.io.rawValue)
                }
            } else {
                print(dot, terminator: "")
            }
            return
        }
        guard let dotPath = ["/usr/bin/dot", "/usr/local/bin/dot"].first(where: FileManager.default.isExecutableFile)
        else {
            log("error: --format \(format) needs Graphviz's `dot`: `apt-get install graphviz` (or `make setup`)")
            throw ExitCode(Exit.config.rawValue)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: dotPath)
        process.arguments = ["-T\(format)"] + (output.map { ["-o", $0] } ?? [])
        let input = Pipe()
        process.standardInput = input
        do { try process.run() } catch {
            log("error: cannot run \(dotPath): \(error.localizedDescription)")
            throw ExitCode(Exit.io.rawValue)
        }
        input.fileHandleForWriting.write(Data(dot.utf8))
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            log("error: \(dotPath) -T\(format) failed with status \(process.terminationStatus)")
            throw ExitCode(Exit.io.rawValue)
        }
    }
}
