import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Applies the `on_bad_record` policy for all source workers of a job: fail, count and skip, or count
/// and append the raw record with its origin and error to a dead-letter file (JSON lines).
public final class BadRecordHandler: Sendable {
    public let policy: BadRecordPolicy
    private let counter = Atomic<Int>(0)
    private let reasons = Mutex<[String: Int]>([:])
    private let deadLetter: Mutex<DeadLetterFile?>

    public init(policy: BadRecordPolicy) throws(StreamError) {
        self.policy = policy
        if case .deadLetter(let path) = policy {
            try Directories.createParent(of: path)
            guard let f = fopen(path, "a") else {
                throw StreamError(.io, "cannot open dead-letter file \(path): \(String(cString: strerror(errno)))")
            }
            deadLetter = Mutex(DeadLetterFile(file: f))
        } else {
            deadLetter = Mutex(nil)
        }
    }

    /// Bad records seen so far (skipped or dead-lettered).
    public var count: Int { counter.load(ordering: .relaxed) }

    /// The same, by `DecodeError.reason`.
    public var countsByReason: [String: Int] { reasons.withLock { $0 } }

    private func count(_ error: DecodeError) {
        counter.add(1, ordering: .relaxed)
        reasons.withLock { $0[error.reason, default: 0] += 1 }
    }

    /// Handles one bad record. `origin` names where it came from (`orders[3]@1234`, `data.json:17`).
    /// Throws under `fail`.
    public func handle(raw: UnsafeRawBufferPointer, origin: String, error: DecodeError) throws(StreamError) {
        switch policy {
        case .fail:
            let preview = String(decoding: raw.prefix(120), as: UTF8.self)
            throw StreamError(
                .badRecord,
                "bad record at \(origin): \(error) (record: \(preview)); set `on_bad_record: skip` or `dead_letter` to go on"
            )
        case .skip:
            count(error)
        case .deadLetter:
            count(error)
            var line = "{\"origin\":" + JSONText.quote(origin) + ",\"error\":" + JSONText.quote(error.description)
            // Text stays readable; anything else is kept byte for byte rather than patched with U+FFFD.
            if let text = String(validating: raw, as: UTF8.self) {
                line += ",\"raw\":" + JSONText.quote(text) + "}\n"
            } else {
                line += ",\"raw_base64\":\"" + Base64.encode(raw) + "\"}\n"
            }
            deadLetter.withLock { file in
                guard let f = file?.file else { return }
                _ = line.withCString { fputs($0, f) }
                fflush(f)
            }
        }
    }

    deinit {
        deadLetter.withLock { file in
            if let f = file?.file { fclose(f) }
        }
    }
}

/// The owner of the dead-letter `FILE*`.
struct DeadLetterFile: @unchecked Sendable {
    let file: UnsafeMutablePointer<FILE>
}

/// JSON string quoting for hand-written JSON output.
public enum JSONText {
    public static func quote(_ s: String) -> String {
        var out = "\""
        out.reserveCapacity(s.utf8.count + 2)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

/// Standard base64 (RFC 4648, padded), for bytes that are not UTF-8 text.
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        let b = Array(bytes)
        var out: [UInt8] = []
        out.reserveCapacity((b.count + 2) / 3 * 4)
        var i = 0
        while i < b.count {
            let n = min(3, b.count - i)
            let v = UInt32(b[i]) << 16 | (n > 1 ? UInt32(b[i + 1]) << 8 : 0) | (n > 2 ? UInt32(b[i + 2]) : 0)
            for k in 0..<4 {
                out.append(k <= n ? alphabet[Int(v >> UInt32(18 - 6 * k) & 63)] : UInt8(ascii: "="))
            }
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}
