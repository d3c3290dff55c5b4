#if canImport(Glibc)
    import Glibc
#endif

/// A bounded multi-producer, single-consumer queue between OS threads. A full channel blocks the sender:
/// that is back pressure, and it travels upstream to the source. Closing wakes every waiter.
public final class BoundedChannel<Element: Sendable>: @unchecked Sendable {
    // The mutex and conditions are heap-allocated once and never move (pthread objects must not).
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let notEmpty = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let notFull = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var buffer: [Element?]
    private var head = 0
    private var count = 0
    private var closed = false
    public let capacity: Int

    public init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
        buffer = Array(repeating: nil, count: capacity)
        pthread_mutex_init(mutex, nil)
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        pthread_cond_init(notEmpty, &attr)
        pthread_cond_init(notFull, &attr)
        pthread_condattr_destroy(&attr)
    }

    deinit {
        pthread_cond_destroy(notEmpty)
        pthread_cond_destroy(notFull)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        notEmpty.deallocate()
        notFull.deallocate()
    }

    /// Elements waiting, for the queue-fill metric.
    public var fill: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return count
    }

    /// Appends without waiting; false when full or closed.
    public func trySend(_ element: Element) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        guard !closed, count < capacity else { return false }
        enqueue(element)
        return true
    }

    /// Appends, waiting while full. Returns false when the channel was closed (the element is dropped:
    /// the job is shutting down).
    @discardableResult
    public func send(_ element: Element) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while count == capacity && !closed { pthread_cond_wait(notFull, mutex) }
        if closed { return false }
        enqueue(element)
        return true
    }

    /// The outcome of a send with a time limit.
    public enum SendResult: Sendable {
        case sent
        case timedOut
        case closed
    }

    /// Appends, waiting at most `timeoutNs` while full.
    public func send(_ element: Element, timeoutNs: UInt64) -> SendResult {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        if count == capacity && !closed {
            var deadline = BoundedChannel.deadline(after: timeoutNs)
            while count == capacity && !closed {
                if pthread_cond_timedwait(notFull, mutex, &deadline) == ETIMEDOUT { break }
            }
        }
        if closed { return .closed }
        guard count < capacity else { return .timedOut }
        enqueue(element)
        return .sent
    }

    private static func deadline(after ns: UInt64) -> timespec {
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        let total = UInt64(deadline.tv_nsec) + ns
        deadline.tv_sec += Int(total / 1_000_000_000)
        deadline.tv_nsec = Int(total % 1_000_000_000)
        return deadline
    }

    /// Removes the oldest element, waiting up to `timeoutNs` (nil waits forever). Returns nil on timeout
    /// or when closed and empty.
    public func receive(timeoutNs: UInt64? = nil) -> Element? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        if count == 0 && !closed {
            if let timeoutNs {
                var deadline = BoundedChannel.deadline(after: timeoutNs)
                while count == 0 && !closed {
                    if pthread_cond_timedwait(notEmpty, mutex, &deadline) == ETIMEDOUT { break }
                }
            } else {
                while count == 0 && !closed { pthread_cond_wait(notEmpty, mutex) }
            }
        }
        guard count > 0 else { return nil }
        let element = buffer[head].take()
        head = (head + 1) % capacity
        count -= 1
        pthread_cond_signal(notFull)
        return element
    }

    /// Wakes every waiter; later sends fail, receives drain what is left.
    public func close() {
        pthread_mutex_lock(mutex)
        closed = true
        pthread_cond_broadcast(notEmpty)
        pthread_cond_broadcast(notFull)
        pthread_mutex_unlock(mutex)
    }

    private func enqueue(_ element: Element) {
        buffer[(head + count) % capacity] = element
        count += 1
        pthread_cond_signal(notEmpty)
    }
}
