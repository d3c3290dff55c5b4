internal import CRdKafka
import StreamCore
