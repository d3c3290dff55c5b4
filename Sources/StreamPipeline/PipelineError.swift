import Foundation

/// A problem in a pipeline or profile file, pointing at what to change.
///
/// Prints as `file:LINE:COLUMN: error: MESSAGE`, followed by `  help: FIX` on a second line when there is a fix.
/// A position of `0:0` means the problem has no place in the file (a missing file, an unknown `--profile`).
public struct PipelineError: Error, Sendable, Hashable, CustomStringConvertible {
    public var file: String
    /// 1-based; 0 when unknown.
    public var line: Int
    /// 1-based, counted in Unicode scalars; 0 when unknown.
    public var column: Int
    public var message: String
    public var help: String?

    public init(file: String, line: Int, column: Int, message: String, help: String? = nil) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
        self.help = help
    }

    public var description: String {
        let place = line > 0 ? "\(file):\(line):\(column)" : file
        var text = "\(place): error: \(message)"
        if let help { text += "\n  help: \(help)" }
        return text
    }
}

/// Every problem found in one file, in file order.
public struct PipelineErrors: Error, Sendable, Hashable, CustomStringConvertible {
    public var errors: [PipelineError]

    public init(_ errors: [PipelineError]) { self.errors = errors }

    public var description: String { errors.map(\.description).joined(separator: "\n") }

    /// Every error with the offending line of its file and a caret under the column, as compilers print them.
    public var rendered: String {
        var linesByFile: [String: [Substring]] = [:]
        return errors.map { e -> String in
            var text = "\(e.file):\(e.line):\(e.column): error: \(e.message)"
            if e.line == 0 { text = "\(e.file): error: \(e.message)" }
            if e.line > 0 {
                if linesByFile[e.file] == nil {
                    let content = (try? String(contentsOfFile: e.file, encoding: .utf8)) ?? ""
                    linesByFile[e.file] = content.split(separator: "\n", omittingEmptySubsequences: false)
                }
                if let lines = linesByFile[e.file], e.line <= lines.count {
                    let source = lines[e.line - 1]
                    text += "\n    " + source + "\n    " + String(repeating: " ", count: max(0, e.column - 1)) + "^"
                }
            }
            if let help = e.help { text += "\n  help: \(help)" }
            return text
        }.joined(separator: "\n")
    }
}

/// Nearest-name suggestions, as `did you mean `x`?`.
enum Suggest {
    /// The candidate closest to `name` within an edit distance of 2, if any.
    static func nearest(_ name: String, in candidates: [String]) -> String? {
        candidates
            .map { ($0, editDistance(name, $0)) }
            .filter { $0.1 <= 2 && $0.1 < max(name.count, 1) }
            .min { $0.1 < $1.1 }?.0
    }

    static func didYouMean(_ name: String, in candidates: [String]) -> String? {
        nearest(name, in: candidates).map { "did you mean `\($0)`?" }
    }

    /// `did you mean ...?` when a name is near, otherwise the list of accepted names.
    static func help(_ name: String, in candidates: [String], listing what: String) -> String {
        didYouMean(name, in: candidates) ?? "\(what): \(candidates.map { "`\($0)`" }.joined(separator: ", "))"
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.lowercased()), b = Array(b.lowercased())
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
