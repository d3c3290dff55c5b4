internal import CRdKafka
import Logging
import Synchronization

/// librdkafka's own log lines (connection failures, retries, …) go through swift-log: to the logger given to
/// `route(to:)`, else to a plain stderr logger. Without this librdkafka printed `%3|…|FAIL|…` itself.
public enum KafkaLog {
    private static let target = Mutex<Logger?>(nil)

    /// Sends librdkafka's lines to `logger` from now on.
    public static func route(to logger: Logger) { target.withLock { $0 = logger } }

    /// Installs the callback on a configuration before `rd_kafka_new`.
    static func install(on conf: OpaquePointer) {
        rd_kafka_conf_set_log_cb(conf, kafkaLogLine)
    }

    static func emit(level: Int32, facility: String, message: String) {
        // syslog levels, as librdkafka uses them.
        let swiftLevel: Logger.Level =
            switch level {
            case ...2: .critical
            case 3: .error
            case 4: .warning
            case 5: .notice
            case 6: .info
            default: .debug
            }
        let prefix = swiftLevel >= .error ? "error: " : (swiftLevel == .warning ? "warning: " : "")
        let logger = target.withLock { $0 } ?? Logger(label: "librdkafka") { StreamLogHandler.standardError(label: $0) }
        logger.log(
            level: swiftLevel, "\(prefix)librdkafka \(facility): \(message)", metadata: ["facility": "\(facility)"])
    }
}

/// The C callback: runs on librdkafka's threads.
private func kafkaLogLine(
    _ rk: OpaquePointer?, _ level: Int32, _ fac: UnsafePointer<CChar>?, _ buf: UnsafePointer<CChar>?
) {
    KafkaLog.emit(
        level: level, facility: fac.map { String(cString: $0) } ?? "", message: buf.map { String(cString: $0) } ?? "")
}
