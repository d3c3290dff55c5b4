internal import CRocksDB
import StreamCore
