import Dispatch

/// Runs the endpoint's tasks on a queue of their own, not on Swift's shared cooperative threads: whatever
/// else in the process blocks those (a synchronous caller, tests running side by side), `/status` answers.
final class ControlExecutor: TaskExecutor, @unchecked Sendable {
    private let queue = DispatchQueue(label: "streamctl.control", attributes: .concurrent)

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        queue.async { job.runSynchronously(on: executor) }
    }
}
