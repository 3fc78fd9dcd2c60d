import ImagingXBytes
import ImagingXModel
import ImagingXFormats
import ImagingXPixels
import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Counts for the end-of-scan summary; one per worker, merged at the end.
public struct ScanSummary: Sendable {
    public var files = 0
    public var byFormat: [FileFormat: Int] = [:]
    public var errors = 0
    public var unsupported = 0
    public var bytesRead = 0
    public var withFindings = 0

    mutating func add(_ r: ImageRecord) {
        files += 1
        byFormat[r.format, default: 0] += 1
        if r.status == .error { errors += 1 }
        if r.status == .unsupported { unsupported += 1 }
        if !r.findings.isEmpty { withFindings += 1 }
    }

    mutating func merge(_ o: ScanSummary) {
        files += o.files
        for (k, v) in o.byFormat { byFormat[k, default: 0] += v }
        errors += o.errors
        unsupported += o.unsupported
        bytesRead += o.bytesRead
        withFindings += o.withFindings
    }
}

/// Reads headers of many files in parallel and hands serialised records back in path order.
///
/// Work is split into batches; inside a batch, `jobs` workers take indices from an atomic
/// counter and write each serialised record into that index's slot, so output order never
/// depends on timing and hot loops take no locks.
public final class Scanner: Sendable {
    public let jobs: Int
    public let format: OutputFormat
    public let batchSize: Int
    public let options: ReadOptions

    public init(jobs: Int, format: OutputFormat = .jsonl, batchSize: Int = 4096, options: ReadOptions = ReadOptions()) {
        self.options = options
        self.jobs = max(1, jobs)
        self.format = format
        self.batchSize = max(1, batchSize)
    }

    /// Walks `roots` on its own thread while the workers scan what it has found: the walk
    /// overlaps the parsing instead of preceding it. Entries arrive in path order (Walker), so
    /// records are written in path order as each batch completes.
    public func scan(roots: [String], walker: Walker, emit: (UnsafeRawBufferPointer) -> Void,
                     progress: (Int) -> Void = { _ in }) -> (summary: ScanSummary, errors: [Walker.RootError], skipped: Int) {
        let queue = BatchQueue(capacity: 4)
        let result = Mutex<(errors: [Walker.RootError], skipped: Int)>(([], 0))
        let batchSize = self.batchSize
        let started = startThread {
            let r = walker.walk(roots, batchSize: batchSize) { queue.push($0) }
            result.withLock { $0 = r }
            queue.finish()
        }
        guard started else {
            // No thread to be had: walk first, then scan.
            let walk = walker.walk(roots)
            let summary = scan(walk.entries, emit: emit, progress: progress)
            return (summary, walk.errors, walk.skipped)
        }
        let context = ScanContext(scanner: self)
        var done = 0
        while let batch = queue.pop() {
            context.scanBatch(batch, start: 0, end: batch.count, emit: emit)
            done += batch.count
            progress(done)
        }
        let r = result.withLock { $0 }
        return (context.summary(), r.errors, r.skipped)
    }

    /// Scans `entries`; `emit` receives each batch's bytes in order, `progress` the count done.
    public func scan(_ entries: [WalkEntry], emit: (UnsafeRawBufferPointer) -> Void,
                     progress: (Int) -> Void = { _ in }) -> ScanSummary {
        let context = ScanContext(scanner: self)
        var start = 0
        while start < entries.count {
            let end = min(start + batchSize, entries.count)
            context.scanBatch(entries, start: start, end: end, emit: emit)
            start = end
            progress(end)
        }
        return context.summary()
    }

    /// Per-scan state: the workers (each with its reader and output buffer) and the batch buffer.
    package final class ScanContext {
        let jobs: Int
        let format: OutputFormat
        let stats: Bool
        let workers: [Worker]
        let batch = ByteBuffer(capacity: 1 << 20)

        init(scanner: Scanner) {
            jobs = scanner.jobs
            format = scanner.format
            stats = scanner.options.stats
            let options = scanner.options
            workers = (0..<scanner.jobs).map { _ in Worker(options: options) }
        }

        func summary() -> ScanSummary {
            var total = ScanSummary()
            for w in workers {
                w.summary.bytesRead = w.reader.bytesRead
                total.merge(w.summary)
            }
            return total
        }

        func scanBatch(_ entries: [WalkEntry], start: Int, end: Int, emit: (UnsafeRawBufferPointer) -> Void) {
            let workers = self.workers
            let format = self.format
            let count = end - start
            // Slot i: which worker serialised record i, and where in that worker's buffer.
            let slots = UnsafeMutableBufferPointer<Slot>.allocate(capacity: count)
            slots.initialize(repeating: Slot(worker: 0, start: 0, end: 0))
            let next = Counter()
            let box = UnsafeSendable(slots: slots, workers: workers, entries: entries, start: start, format: format, stats: stats)
            let body: @Sendable (Int) -> Void = { workerIndex in
                let worker = box.workers[workerIndex]
                while true {
                    let i = next.value.wrappingAdd(1, ordering: .relaxed).oldValue
                    if i >= count { break }
                    let entry = box.entries[box.start + i]
                    var record: ImageRecord
                    if let message = entry.walkError {
                        record = ImageRecord(path: entry.path)
                        record.fail(ParseError(.io, at: 0, message))
                    } else {
                        record = worker.reader.read(fullPath: entry.fullPath, path: entry.path)
                    }
                    worker.summary.add(record)
                    let from = worker.output.count
                    switch box.format {
                    case .jsonl: RecordWriter.writeJSON(record, to: worker.output, stats: box.stats)
                    case .csv: RecordWriter.writeCSV(record, to: worker.output, stats: box.stats)
                    }
                    box.slots[i] = Slot(worker: workerIndex, start: from, end: worker.output.count)
                }
            }
            if jobs == 1 {
                body(0)
            } else {
                DispatchQueue.concurrentPerform(iterations: jobs, execute: body)
            }
            batch.removeAll()
            for s in slots { batch.append(from: workers[s.worker].output, start: s.start, end: s.end) }
            slots.deallocate()
            for w in workers { w.output.removeAll() }
            emit(UnsafeRawBufferPointer(start: batch.base, count: batch.count))
        }
    }

    /// `scan` collecting everything into one array (tests, small scans).
    public func scan(_ entries: [WalkEntry], emit: ([UInt8]) -> Void) -> ScanSummary {
        scan(entries, emit: { (bytes: UnsafeRawBufferPointer) in emit(Array(bytes)) }, progress: { _ in })
    }


    package struct Slot {
        var worker: Int
        var start: Int
        var end: Int
    }

    package final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }

    package final class Worker {
        let reader: FileReader
        init(options: ReadOptions) { reader = FileReader(options: options) }
        let output = ByteBuffer(capacity: 1 << 20)
        var summary = ScanSummary()
    }

    /// What the worker closure captures. Safe to share: each worker touches only its own
    /// `Worker`, and each slot index is claimed by exactly one worker through the atomic counter;
    /// the batch is read only after `concurrentPerform` returns.
    package struct UnsafeSendable: @unchecked Sendable {
        let slots: UnsafeMutableBufferPointer<Slot>
        let workers: [Worker]
        let entries: [WalkEntry]
        let start: Int
        let format: OutputFormat
        let stats: Bool
    }
}

/// Batches of walk entries handed from the walking thread to the scanning one, at most
/// `capacity` in flight (so a fast walk over millions of files does not outrun memory).
package final class BatchQueue: Sendable {
    private let state = Mutex<(items: [[WalkEntry]], finished: Bool)>(([], false))
    private let available = DispatchSemaphore(value: 0)
    private let space: DispatchSemaphore

    init(capacity: Int) { space = DispatchSemaphore(value: capacity) }

    func push(_ batch: [WalkEntry]) {
        space.wait()
        state.withLock { $0.items.append(batch) }
        available.signal()
    }

    func finish() {
        state.withLock { $0.finished = true }
        available.signal()
    }

    /// The next batch, or nil once the walk has finished and everything was taken.
    func pop() -> [WalkEntry]? {
        available.wait()
        let batch = state.withLock { s -> [WalkEntry]? in s.items.isEmpty ? nil : s.items.removeFirst() }
        if batch != nil { space.signal() }
        return batch
    }
}

/// Runs `body` on a new POSIX thread (not a Dispatch worker: it blocks on the queue, and
/// Dispatch's pool on a 2-core machine is what the scanning workers run on).
/// Returns false, without running `body`, when no thread can be created.
package func startThread(_ body: @escaping @Sendable () -> Void) -> Bool {
    final class Box { let body: @Sendable () -> Void; init(_ b: @escaping @Sendable () -> Void) { body = b } }
    let context = Unmanaged.passRetained(Box(body)).toOpaque()
    var thread = pthread_t()
    let status = pthread_create(&thread, nil, { raw in
        let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
        box.body()
        return nil
    }, context)
    guard status == 0 else {
        Unmanaged<Box>.fromOpaque(context).release()
        return false
    }
    pthread_detach(thread)
    return true
}
