internal import CJemalloc
import StreamCore
