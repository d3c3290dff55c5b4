internal import CRocksDB
import StreamCore

/// Turns the error string a RocksDB C call filled in into a `StreamError(.state, ...)`.
enum RocksError {
    /// Throws when `err` is set, with RocksDB's own message after `what`; frees the message.
    static func check(_ err: UnsafeMutablePointer<CChar>?, _ what: @autoclosure () -> String) throws(StreamError) {
        guard let err else { return }
        // RocksDB allocated the message with malloc; we own it.
        let message = String(cString: err)
        rocksdb_free(err)
        throw StreamError(.state, "\(what()): \(message)")
    }
}
