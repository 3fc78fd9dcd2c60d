import Dispatch
import ImagingXIndex
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One index job of the service (or of `serve --watch`): its progress and outcome.
public struct IndexJob: Sendable, Codable, Equatable {
    public enum State: String, Sendable, Codable { case running, finished, failed, cancelled }
    public var id: Int
    public var root: String
    public var state: State
    public var startedAt: String
    public var finishedAt: String?
    public var progress: IndexProgress
    public var outcome: RootOutcome?
    public var error: String?
    /// Records in error that this job wrote (path and message), at most 100.
    public var errors: [JobFileError] = []

    enum CodingKeys: String, CodingKey {
        case id, root, state, startedAt = "started_at", finishedAt = "finished_at", progress, outcome, error, errors
    }
}

public struct JobFileError: Sendable, Codable, Equatable {
    public var path: String
    public var message: String
}

public enum JobError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The path is not inside a configured root (after following links).
    case outsideRoots(String)
    /// A job on this root is running.
    case alreadyRunning(root: String, job: Int)
    case notFound(Int)
    case index(IndexError)

    public var description: String {
        switch self {
        case .outsideRoots(let p): "\(p) is not inside a configured root"
        case .alreadyRunning(let root, let job): "job \(job) is already indexing \(root)"
        case .notFound(let id): "no job \(id)"
        case .index(let e): e.description
        }
    }
}

/// Runs index jobs one root at a time each, on their own threads, against one store (SQLite or
/// PostgreSQL). Jobs on different roots queue on the store's writer lock; a second job on a root
/// being indexed is refused.
public final class IndexJobs: Sendable {
    public let store: any ServiceIndexStore
    /// Real paths of the roots jobs may index.
    public let roots: [String]
    let stats: Bool
    private let state = Mutex<(next: Int, jobs: [Int: IndexJob], flags: [Int: CancelFlag])>((1, [:], [:]))
    /// The `nice` value of a job's threads (Linux: per thread; 0 is the service's own).
    static let niceness: Int32 = 10
    /// One writer at a time inside this process (the flock guards against other processes).
    private let writer = Mutex<Void>(())

    public init(store: any ServiceIndexStore, roots: [String], stats: Bool = false) {
        self.store = store
        self.roots = roots
        self.stats = stats
    }

    /// The real path of `path` if it lies inside a configured root (links followed), else nil.
    public func confine(_ path: String) -> String? {
        guard let real = realpath(path, nil) else { return nil }
        defer { free(real) }
        let resolved = String(cString: real)
        return roots.contains { resolved == $0 || resolved.hasPrefix($0 == "/" ? "/" : $0 + "/") } ? resolved : nil
    }

    public func list() -> [IndexJob] { state.withLock { $0.jobs.values.sorted { $0.id > $1.id } } }

    public func job(_ id: Int) -> IndexJob? { state.withLock { $0.jobs[id] } }

    public func cancel(_ id: Int) throws(JobError) -> IndexJob {
        let job: IndexJob? = state.withLock { s in
            s.flags[id]?.cancel()
            return s.jobs[id]
        }
        guard let job else { throw .notFound(id) }
        return job
    }

    /// Starts indexing `path` (a configured root, or a folder inside one: the whole root is indexed).
    @discardableResult
    public func start(_ path: String) throws(JobError) -> IndexJob {
        guard let resolved = confine(path) else { throw .outsideRoots(path) }
        let root = roots.filter { resolved == $0 || resolved.hasPrefix($0 + "/") }.max { $0.count < $1.count } ?? resolved
        let flag = CancelFlag()
        let made: Result<IndexJob, JobError> = state.withLock { s in
                if let running = s.jobs.values.first(where: { $0.root == root && $0.state == .running }) {
                    return .failure(.alreadyRunning(root: root, job: running.id))
                }
                let job = IndexJob(id: s.next, root: root, state: .running, startedAt: Timestamp.now(),
                                   progress: IndexProgress(root: root))
                s.next += 1
                s.jobs[job.id] = job
                s.flags[job.id] = flag
                return .success(job)
            }
        let job = try made.get()
        let id = job.id
        // The job runs below the requests the service answers meanwhile: on its own thread at
        // `nice` 10, and so do the threads it starts (its readers and its writer).
        let niced: @Sendable () -> Void = { [self] in
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, Self.niceness)
            run(id: id, root: root, flag: flag)
        }
        if !startThread(niced) { DispatchQueue.global().async { [self] in run(id: id, root: root, flag: flag) } }
        return job
    }

    /// Waits until no job is running (tests, `serve` shutting down).
    public func waitIdle(timeout: Double = 3600) {
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(timeout * 1e9)
        while state.withLock({ $0.jobs.values.contains { $0.state == .running } }), DispatchTime.now().uptimeNanoseconds < deadline {
            usleep(20_000)
        }
    }

    /// Whether a job runs the dataset pass after the file pass on this store: every store that
    /// keeps datasets (SQLite and PostgreSQL both do).
    static func datasetPass(on store: any ServiceIndexStore) -> Bool {
        store is any DatasetIndexStore
    }

    private func update(_ id: Int, _ change: (inout IndexJob) -> Void) {
        state.withLock { s in
            if var j = s.jobs[id] {
                change(&j)
                s.jobs[id] = j
            }
        }
    }

    private func run(id: Int, root: String, flag: CancelFlag) {
        writer.withLock { _ in
            var request = IndexRequest(paths: [root], database: store.location)
            request.stats = stats
            // An s3:// root has the file pass only (the dataset pass reads local folders).
            request.datasets = Self.datasetPass(on: store) && !RemoteScanRequest.isRemote(root)
            do throws(IndexError) {
                // SQLite: the index file's lock; PostgreSQL: the root's advisory lock (busy while
                // `index` writers, shards included, write that root).
                let lock = try store.writerLock(roots: [root], shard: nil)
                defer { lock.release() }
                let result = try Application.index(request, store: store, cancel: flag) { p in self.update(id) { $0.progress = p } }
                let errors = (try? store.errorRecords(root: root, limit: 100)) ?? []
                update(id) { j in
                    j.outcome = result.roots.first
                    j.state = result.cancelled ? .cancelled : (result.roots.first?.available == false ? .failed : .finished)
                    j.error = result.roots.first?.reason
                    j.errors = errors.map { JobFileError(path: $0.path, message: $0.message) }
                    j.finishedAt = Timestamp.now()
                    j.progress.walkFinished = true
                }
            } catch {
                update(id) { j in
                    j.state = .failed
                    j.error = error.description
                    j.finishedAt = Timestamp.now()
                }
            }
            state.withLock { _ = $0.flags.removeValue(forKey: id) }
        }
    }
}

