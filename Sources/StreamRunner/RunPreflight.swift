import Foundation
import StreamControl
import StreamCore
import StreamSinks

/// What a run does with what an earlier run left in `state.dir` and under the output path.
public enum LeftoverPolicy: Sendable, Hashable {
    /// Refuse to start when anything is there (the default).
    case refuse
    /// `--fresh`: discard the earlier state and output (part files, dead-letter and late-output files).
    case fresh
    /// `--append`: keep the earlier output and add new part files beside it; the earlier state is discarded.
    case append
}

/// A reason not to start, found before anything runs.
public struct PreflightFailure: Error, Sendable {
    public enum Kind: Sendable, Hashable {
        /// `state.dir` holds state of an earlier run.
        case leftoverState
        /// The output path (or dead-letter / late-output file) holds output of an earlier run.
        case leftoverOutput
        /// Another process holds `state.dir`.
        case locked
        /// A directory or file could not be created, read or removed.
        case io
    }
    public var kind: Kind
    public var message: String
}

/// The checks and cleanup between loading a pipeline and starting it: take the state directory's lock,
/// refuse (or with `--fresh` discard) state an earlier run left, refuse (or discard, or keep) earlier
/// output, remove in-progress part files a dead run left, and check that the output path is writable.
///
/// Until checkpoints restore state together with source positions, every run reads its input from
/// `start_from` again, so state found at start cannot be accounted for: merged in, it double counts.
public struct RunPreflight: Sendable {
    public let spec: PipelineSpec
    public let policy: LeftoverPolicy
    /// A checkpoint will be restored: state and output found are the job's own (the restore replaces the
    /// state and settles the staged output).
    public let resuming: Bool

    public init(spec: PipelineSpec, policy: LeftoverPolicy, resuming: Bool = false) {
        self.spec = spec
        self.policy = policy
        self.resuming = resuming
    }

    /// Runs every check; the returned lock (nil for the memory backend) must be kept for the whole run.
    /// `log` gets one line per thing removed.
    public func prepare(log: (String) -> Void = RunLog.write) throws(PreflightFailure) -> StateDirectoryLock? {
        var lock: StateDirectoryLock?
        // RocksDB state and checkpoints are what two runs of one job would corrupt for each other.
        if spec.state.backend == .rocksdb || spec.checkpoints.enabled {
            let dir = spec.state.dir
            do throws(StateDirectoryLock.Failure) {
                lock = try StateDirectoryLock(directory: dir, holder: .current(pipeline: spec.file))
            } catch {
                switch error {
                case .held(let path, let holder):
                    let who = holder?.description ?? "another streamctl process"
                    throw PreflightFailure(
                        kind: .locked,
                        message: "state directory \(dir) is in use by \(who) (lock file \(path)); "
                            + "wait for it to end, or give this pipeline its own `state.dir`")
                case .io(let text): throw PreflightFailure(kind: .io, message: text)
                }
            }
            if let dead = lock?.tookOverFrom {
                log(
                    "warning: took over the stale lock \(lock!.path) of \(dead.description): that run no longer "
                        + "holds it (it was killed or crashed)")
            }
            if spec.state.backend == .rocksdb && !resuming { try checkState(dir, log: log) }
        }
        if resuming {
            if case .file(let f) = spec.sink.kind {
                do throws(StreamError) { try OutputDirectory.checkWritable(f.path) } catch {
                    throw PreflightFailure(kind: .io, message: error.message)
                }
            }
        } else {
            try checkOutputs(log: log)
        }
        return lock
    }

    /// Entries of `state.dir` other than the lock file.
    static func stateEntries(_ dir: String) throws(PreflightFailure) -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: dir)
                .filter { $0 != StateDirectoryLock.fileName && $0 != ControlFile.fileName }.sorted()
        } catch {
            throw PreflightFailure(
                kind: .io, message: "cannot read state directory \(dir): \(error.localizedDescription)")
        }
    }

    /// `rm -r path`.
    static func remove(_ path: String) throws(PreflightFailure) {
        do {
            try FileManager.default.removeItem(atPath: path)
        } catch {
            throw PreflightFailure(kind: .io, message: "cannot remove \(path): \(error.localizedDescription)")
        }
    }

    private func checkState(_ dir: String, log: (String) -> Void) throws(PreflightFailure) {
        let entries = try Self.stateEntries(dir)
        guard !entries.isEmpty else { return }
        guard policy != .refuse else {
            throw PreflightFailure(
                kind: .leftoverState,
                message: "state directory \(dir) holds state of an earlier run (\(entries.count) files) that this "
                    + "run cannot account for: it reads its input from the start again, so merging that state "
                    + "in would count rows twice; run with --fresh to discard it (checkpoints, once built, "
                    + "will restore it instead)")
        }
        for name in entries { try Self.remove(dir + "/" + name) }
        log("state: discarded the earlier run's state in \(dir) (\(entries.count) files)")
    }

    private func checkOutputs(log: (String) -> Void) throws(PreflightFailure) {
        var files: [String] = []
        if case .deadLetter(let path) = spec.source.onBadRecord { files.append(path) }
        for op in spec.operators {
            if case .window(let w) = op.kind, let path = w.lateOutput { files.append(path) }
        }
        var leftovers: [String] = []
        if case .file(let f) = spec.sink.kind {
            do throws(StreamError) {
                let stale = try OutputDirectory.removeStaleInProgress(under: f.path)
                if stale > 0 { log("output: removed \(stale) in-progress part files a stopped run left in \(f.path)") }
                let parts = OutputDirectory.parts(under: f.path)
                if !parts.isEmpty {
                    if policy == .fresh {
                        try OutputDirectory.removeParts(under: f.path)
                        log("output: --fresh removed \(parts.count) part files of an earlier run in \(f.path)")
                    } else if policy == .refuse {
                        leftovers.append("\(f.path) (\(parts.count) part files)")
                    }
                }
                try OutputDirectory.checkWritable(f.path)
            } catch {
                throw PreflightFailure(kind: .io, message: error.message)
            }
        }
        for path in files {
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            guard size > 0 else { continue }
            switch policy {
            case .refuse: leftovers.append(path)
            case .append: break
            case .fresh:
                try Self.remove(path)
                log("output: --fresh removed \(path) of an earlier run")
            }
        }
        guard leftovers.isEmpty else {
            throw PreflightFailure(
                kind: .leftoverOutput,
                message: "output of an earlier run is in the way: \(leftovers.joined(separator: ", ")); a second run "
                    + "would add to it and count rows twice; run with --fresh to replace it or --append to keep it "
                    + "and add this run's output beside it")
        }
    }
}
