internal import CRocksShim

/// Facts about the linked RocksDB library, for `streamctl info`.
public enum RocksLibrary {
    /// The run-time library's version, e.g. `7.8.3`.
    public static var version: String { String(cString: streamctl_rocksdb_version()) }
}
