#if canImport(Glibc)
    import Glibc
#endif

/// The inputs of one worker: a bounded FIFO queue per upstream sender under one lock (Flink's input gate
/// with its channels). A full queue blocks its sender — back pressure — and the worker can stop reading
/// one input (barrier alignment) so that input's sender blocks, while the others keep flowing: memory
/// while aligning stays within capacity × inputs.
///
/// Batches and watermarks count against an input's capacity. Barriers and end markers never block their
/// sender (they are a few bytes, and a barrier must get through a back-pressured edge); they keep their
/// place in the queue, so no message overtakes another of the same input.
public final class InputGate: @unchecked Sendable {
    // The mutex and conditions are heap-allocated once and never move (pthread objects must not).
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let notEmpty = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let notFull = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var queues: [MessageQueue] = []
    private var readable: [Bool] = []
    private var cursor = 0
    private var closed = false
    private var capacityPerInput: Int

    public init(inputs: Int, capacity: Int) {
        precondition(capacity > 0)
        capacityPerInput = capacity
        queues = (0..<inputs).map { _ in MessageQueue() }
        readable = Array(repeating: true, count: inputs)
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

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }

    /// Number of inputs (senders) the gate has.
    public var inputs: Int { locked { queues.count } }

    /// Messages waiting over all inputs, for the queue-fill metric.
    public var fill: Int { locked { queues.reduce(0) { $0 + $1.count } } }

    /// Messages waiting from one input.
    public func fill(of input: Int) -> Int { locked { queues[input].count } }

    /// Bound of every input's queue.
    public var capacity: Int { locked { capacityPerInput } }

    /// Changes every input's bound (a live profile change); senders waiting on a larger bound wake.
    public func setCapacity(_ capacity: Int) {
        locked {
            capacityPerInput = max(1, capacity)
            pthread_cond_broadcast(notFull)
        }
    }

    /// Adds an input (a sender started at a rescale); returns its index.
    public func addInput() -> Int {
        locked {
            queues.append(MessageQueue())
            readable.append(true)
            return queues.count - 1
        }
    }

    /// The outcome of a send with a time limit.
    public enum SendResult: Sendable {
        case sent
        case timedOut
        case closed
    }

    /// Appends without waiting; false when the input's queue is full or the gate closed.
    public func trySend(_ message: StreamMessage, from input: Int) -> Bool {
        locked {
            guard !closed else { return false }
            guard !message.countsAgainstCapacity || queues[input].weight < capacityPerInput else { return false }
            enqueue(message, input)
            return true
        }
    }

    /// Appends, waiting while the input's queue is full: at most `timeoutNs`, or for ever when nil.
    public func send(_ message: StreamMessage, from input: Int, timeoutNs: UInt64? = nil) -> SendResult {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        if message.countsAgainstCapacity {
            if let timeoutNs {
                var deadline = InputGate.deadline(after: timeoutNs)
                while queues[input].weight >= capacityPerInput && !closed {
                    if pthread_cond_timedwait(notFull, mutex, &deadline) == ETIMEDOUT { break }
                }
            } else {
                while queues[input].weight >= capacityPerInput && !closed { pthread_cond_wait(notFull, mutex) }
            }
        }
        if closed { return .closed }
        if message.countsAgainstCapacity && queues[input].weight >= capacityPerInput { return .timedOut }
        enqueue(message, input)
        return .sent
    }

    /// Appends even when the input's queue is full (a batch that must precede a pending barrier).
    @discardableResult
    public func forceSend(_ message: StreamMessage, from input: Int) -> Bool {
        locked {
            guard !closed else { return false }
            enqueue(message, input)
            return true
        }
    }

    /// Stops or resumes delivering `input`'s messages (barrier alignment). Its sender blocks once the
    /// queue is full.
    public func setReadable(_ input: Int, _ isReadable: Bool) {
        locked {
            readable[input] = isReadable
            if isReadable && !queues[input].isEmpty { pthread_cond_signal(notEmpty) }
        }
    }

    /// The oldest message of the next readable input that has one, inputs taken in turn; waits up to
    /// `timeoutNs` (nil: for ever). Nil on timeout, or once the gate is closed.
    public func receive(timeoutNs: UInt64? = nil) -> Envelope? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        var deadline = timeoutNs.map { InputGate.deadline(after: $0) }
        while !closed {
            let n = queues.count
            for step in 0..<n {
                let i = (cursor + step) % n
                guard readable[i], !queues[i].isEmpty else { continue }
                let wasFull = queues[i].weight >= capacityPerInput
                let message = queues[i].pop()
                cursor = (i + 1) % n
                if wasFull && message.countsAgainstCapacity { pthread_cond_broadcast(notFull) }
                return Envelope(input: i, message: message)
            }
            if deadline != nil {
                if pthread_cond_timedwait(notEmpty, mutex, &deadline!) == ETIMEDOUT { return nil }
            } else {
                pthread_cond_wait(notEmpty, mutex)
            }
        }
        return nil
    }

    /// Wakes every waiter; later sends and receives fail (the job is failing).
    public func close() {
        locked {
            closed = true
            pthread_cond_broadcast(notEmpty)
            pthread_cond_broadcast(notFull)
        }
    }

    private func enqueue(_ message: StreamMessage, _ input: Int) {
        queues[input].push(message)
        if readable[input] { pthread_cond_signal(notEmpty) }
    }

    private static func deadline(after ns: UInt64) -> timespec {
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        let total = UInt64(deadline.tv_nsec) + ns
        deadline.tv_sec += Int(total / 1_000_000_000)
        deadline.tv_nsec = Int(total % 1_000_000_000)
        return deadline
    }
}

/// One input's FIFO: a growable ring; `weight` counts the messages that count against capacity.
struct MessageQueue {
    private var buffer: [StreamMessage?] = Array(repeating: nil, count: 4)
    private var head = 0
    private(set) var count = 0
    private(set) var weight = 0

    var isEmpty: Bool { count == 0 }

    mutating func push(_ m: StreamMessage) {
        if count == buffer.count {
            var grown = [StreamMessage?](repeating: nil, count: buffer.count * 2)
            for k in 0..<count { grown[k] = buffer[(head + k) % buffer.count] }
            buffer = grown
            head = 0
        }
        buffer[(head + count) % buffer.count] = m
        count += 1
        if m.countsAgainstCapacity { weight += 1 }
    }

    mutating func pop() -> StreamMessage {
        let m = buffer[head].take()!
        head = (head + 1) % buffer.count
        count -= 1
        if m.countsAgainstCapacity { weight -= 1 }
        return m
    }
}

extension StreamMessage {
    /// Batches and watermarks are bounded per input; control markers are not.
    var countsAgainstCapacity: Bool {
        switch self {
        case .batch, .watermark: true
        case .barrier, .cancel, .end: false
        }
    }
}
