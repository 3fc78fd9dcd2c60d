import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The one worker pool behind scan, series and fingerprint: `jobs` workers, each with state of
/// its own (a `FileReader` and its buffers, say), take item indices from one atomic counter, so
/// the hot loop takes no lock and every item is handled exactly once.
public struct WorkerPool: Sendable {
    public let jobs: Int

    public init(jobs: Int) { self.jobs = max(1, jobs) }

    /// Calls `body(workers[w], i)` for every `i` in `0..<count`, each exactly once, on up to
    /// `workers.count` threads; returns when all are done. Each worker object is used by one
    /// thread at a time.
    public func run<Worker: AnyObject>(_ count: Int, workers: [Worker], _ body: (Worker, Int) -> Void) {
        guard count > 0 else { return }
        WorkProgress.total.add(count, ordering: .relaxed)
        let next = Counter()
        withoutActuallyEscaping(body) { body in
            let shared = Shared(workers: workers, body: body)
            let loop: @Sendable (Int) -> Void = { w in
                let worker = shared.workers[w]
                while true {
                    let i = next.take()
                    if i >= count { break }
                    shared.body(worker, i)
                    WorkProgress.done.add(1, ordering: .relaxed)
                }
            }
            let threads = min(workers.count, count)
            if threads <= 1 { loop(0) } else { parallelPerform(threads, loop) }
        }
    }

    /// `run` with a fresh worker state per thread, collecting one result per item, in item order.
    public func map<Worker: AnyObject, Result>(_ count: Int, makeWorker: () -> Worker,
                                               _ body: (Worker, Int) -> Result) -> [Result] {
        guard count > 0 else { return [] }
        let slots = UnsafeMutableBufferPointer<Result?>.allocate(capacity: count)
        slots.initialize(repeating: nil)
        defer { slots.deinitialize().deallocate() }
        let out = Slots(slots)
        run(count, workers: (0..<min(jobs, count)).map { _ in makeWorker() }) { w, i in out.base[i] = body(w, i) }
        return slots.map { $0! }
    }

    /// What the worker threads share. Safe: each worker object is touched by one thread, each
    /// index is claimed by exactly one thread through the counter, and the caller reads the
    /// results only after `concurrentPerform` returns.
    private struct Shared<Worker, Body>: @unchecked Sendable {
        let workers: [Worker]
        let body: Body
    }

    /// Hands out 0, 1, 2, … to whichever thread asks next.
    package final class Counter: Sendable {
        private let value = Atomic<Int>(0)
        package init() {}
        package func take() -> Int { value.wrappingAdd(1, ordering: .relaxed).oldValue }
    }

    private struct Slots<Result>: @unchecked Sendable {
        let base: UnsafeMutableBufferPointer<Result?>
        init(_ b: UnsafeMutableBufferPointer<Result?>) { base = b }
    }
}

/// Runs `body(0..<count)` in parallel and returns when all have run. From a thread of normal
/// priority this is Dispatch's `concurrentPerform`. From a thread that lowered its priority (a
/// background index job of the service, `nice` > 0) the work runs on threads of its own at that
/// same priority: Dispatch's shared threads would run it at full priority (and a thread's
/// priority, once lowered, cannot be raised again without privileges), so the job would take
/// CPU from the requests the service answers meanwhile.
package func parallelPerform(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let niceness = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
    guard niceness > 0, count > 1 else {
        DispatchQueue.concurrentPerform(iterations: count, execute: body)
        return
    }
    var threads: [pthread_t] = []
    for i in 1..<count {
        final class Box { let run: () -> Void; init(_ r: @escaping () -> Void) { run = r } }
        let context = Unmanaged.passRetained(Box {
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness)
            body(i)
        }).toOpaque()
        var thread = pthread_t()
        if pthread_create(&thread, nil, { raw in
            Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().run()
            return nil
        }, context) == 0 {
            threads.append(thread)
        } else {
            Unmanaged<Box>.fromOpaque(context).release()
            body(i)  // no thread to be had: run it here
        }
    }
    body(0)
    for t in threads { pthread_join(t, nil) }
}

/// Items handed to the worker pool and finished, for the whole process: the progress of the
/// commands whose work runs in several pool passes (`fingerprint`, `series`), whose sizes become
/// known one after another. A terminal's progress line reads it; nothing else does.
public enum WorkProgress {
    static let total = Atomic<Int>(0)
    static let done = Atomic<Int>(0)

    public static var snapshot: (done: Int, total: Int) {
        (done.load(ordering: .relaxed), total.load(ordering: .relaxed))
    }
}
