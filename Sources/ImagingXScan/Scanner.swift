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
    /// Sum of the files' sizes (for MB/s).
    public var sizeBytes = 0

    package init() {}

    package mutating func add(_ r: ImageRecord) {
        files += 1
        sizeBytes += r.sizeBytes
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
        sizeBytes += o.sizeBytes
    }
}

/// How records are serialised by the workers, in parallel, as they are read (the JSONL and CSV
/// sinks write these bytes; a consumer of typed records needs none).
public struct RecordEncoding: Sendable {
    public var format: OutputFormat
    /// Write `stats`/`stats_error` (`scan --stats`).
    public var stats: Bool
    /// Write the file's device, inode and times (`scan --file-stat`).
    public var fileStat: Bool

    public init(format: OutputFormat = .jsonl, stats: Bool = false, fileStat: Bool = false) {
        self.format = format
        self.stats = stats
        self.fileStat = fileStat
    }

    /// The CSV header line (empty for JSON Lines).
    public var header: [UInt8] {
        format == .csv ? RecordWriter.csvHeader(stats: stats, fileStat: fileStat) : []
    }

    @inline(__always)
    public func encode(_ r: ImageRecord, into buffer: ByteBuffer) {
        switch format {
        case .jsonl: RecordWriter.writeJSON(r, to: buffer, stats: stats, fileStat: fileStat)
        case .csv: RecordWriter.writeCSV(r, to: buffer, stats: stats, fileStat: fileStat)
        }
    }
}

/// One batch of the scan, in path order.
public struct ScanBatch {
    /// The batch's records, in bytewise order of `path` (empty when the scan was asked for
    /// encoded bytes only: `keepRecords: false`).
    public var records: [ImageRecord]
    /// The records serialised by `RecordEncoding` (empty without one). Valid during the call only.
    public var encoded: UnsafeRawBufferPointer
    /// Files scanned so far, this batch included (progress).
    public var done: Int
    /// Files the walk has found so far, and whether it has finished (then `walked` is the total).
    public var walked = 0
    public var walkFinished = false
    /// Sizes of the files scanned so far, in bytes.
    public var bytes = 0
}

/// What a batch handler tells the scan.
public enum ScanControl: Sendable {
    case proceed
    /// Stop after this batch: the walk stops too, and the outcome says `cancelled`.
    case stop
}

/// The end of a scan: counts, the roots that could not be read, what was skipped.
public struct ScanOutcome: Sendable {
    public var summary: ScanSummary
    public var rootErrors: [Walker.RootError]
    /// Entries that are not regular files (fifos, sockets, devices, dangling links): never opened.
    public var skipped: Int
    /// A handler (or the consumer of `records`) stopped the scan before the walk ended.
    public var cancelled: Bool
}

/// Reads headers (and with `options.stats`, pixels) of many files in parallel and hands typed
/// records back in path order, batch by batch.
///
/// The walk runs on its own thread while the workers read what it has found. Inside a batch,
/// the workers of the one `WorkerPool` take indices from an atomic counter and put each record
/// (and, with a `RecordEncoding`, its serialised bytes) into that index's slot, so the order
/// never depends on timing and the hot loop takes no lock.
public final class Scanner: Sendable {
    public let pool: WorkerPool
    public var jobs: Int { pool.jobs }
    public let batchSize: Int
    public let options: ReadOptions
    /// Default serialisation for the byte-stream `scan(…emit:)` calls.
    public let format: OutputFormat

    public init(jobs: Int, format: OutputFormat = .jsonl, batchSize: Int = 4096, options: ReadOptions = ReadOptions()) {
        self.options = options
        self.pool = WorkerPool(jobs: jobs)
        self.format = format
        self.batchSize = max(1, batchSize)
    }

    // MARK: The typed pipeline

    /// Walks `roots` and reads every file, calling `onBatch` with each batch of records in path
    /// order; `onBatch` may stop the scan. With `encoding`, the workers also serialise each record;
    /// `keepRecords: false` then leaves `records` empty, so records are freed by the workers
    /// that made them (the byte sinks' fast path).
    public func scan(roots: [String], walker: Walker, encoding: RecordEncoding? = nil, keepRecords: Bool = true,
                     onBatch: (ScanBatch) -> ScanControl) -> ScanOutcome {
        scan(roots: roots, walker: walker, select: { $0 }, encoding: encoding, keepRecords: keepRecords, onBatch: onBatch)
    }

    /// `scan` that reads only the entries `select` keeps of each walked batch (called on the
    /// consuming thread, in path order, while the walk goes on): an incremental index passes
    /// over files whose `stat` is unchanged. Batches left empty are not handed to `onBatch`.
    public func scan(roots: [String], walker: Walker, select: ([WalkEntry]) -> [WalkEntry], encoding: RecordEncoding? = nil,
                     keepRecords: Bool = true, onBatch: (ScanBatch) -> ScanControl) -> ScanOutcome {
        let queue = BatchQueue(capacity: 4)
        let result = Mutex<(errors: [Walker.RootError], skipped: Int)>(([], 0))
        let batchSize = self.batchSize
        let walkedCount = Atomic<Int>(0)
        let walkDone = Atomic<Bool>(false)
        let started = startThread {
            let r = walker.walk(roots, batchSize: batchSize, until: { batch in
                walkedCount.add(batch.count, ordering: .relaxed)
                return queue.push(batch)
            })
            result.withLock { $0 = r }
            walkDone.store(true, ordering: .relaxed)
            queue.finish()
        }
        guard started else {
            // No thread to be had: walk first, then scan.
            let walk = walker.walk(roots)
            var outcome = scan(select(walk.entries), encoding: encoding, keepRecords: keepRecords, onBatch: onBatch)
            outcome.rootErrors = walk.errors
            outcome.skipped = walk.skipped
            return outcome
        }
        let context = ScanContext(scanner: self, encoding: encoding, keepRecords: keepRecords)
        var done = 0
        var cancelled = false
        while let walked = queue.pop() {
            let batch = select(walked)
            if batch.isEmpty { continue }
            done += batch.count
            let progress = (walkedCount.load(ordering: .relaxed), walkDone.load(ordering: .relaxed))
            if context.scanBatch(batch, start: 0, end: batch.count, done: done, onBatch: { b in
                var b = b
                b.walked = progress.0
                b.walkFinished = progress.1
                return onBatch(b)
            }) == .stop {
                cancelled = true
                queue.cancel()
                while queue.pop() != nil {}
                break
            }
        }
        let r = result.withLock { $0 }
        return ScanOutcome(summary: context.summary(), rootErrors: r.errors, skipped: r.skipped, cancelled: cancelled)
    }

    /// Reads `entries` (already walked), batch by batch, in their order.
    public func scan(_ entries: [WalkEntry], encoding: RecordEncoding? = nil, keepRecords: Bool = true,
                     onBatch: (ScanBatch) -> ScanControl) -> ScanOutcome {
        let context = ScanContext(scanner: self, encoding: encoding, keepRecords: keepRecords)
        var start = 0
        var cancelled = false
        while start < entries.count {
            let end = min(start + batchSize, entries.count)
            let control = context.scanBatch(entries, start: start, end: end, done: end, onBatch: onBatch)
            start = end
            if control == .stop, start < entries.count { cancelled = true; break }
        }
        return ScanOutcome(summary: context.summary(), rootErrors: [], skipped: 0, cancelled: cancelled)
    }

    /// The typed pipeline as an `AsyncSequence` of records in path order. The scan runs on its
    /// own thread, at most a few batches ahead of the consumer; ending the iteration (or
    /// cancelling its task) stops the walk and the workers. `progress` is called with the number
    /// of files scanned after each batch, and `finished` once with the outcome.
    public func records(roots: [String], walker: Walker,
                        progress: @escaping @Sendable (Int) -> Void = { _ in },
                        finished: @escaping @Sendable (ScanOutcome) -> Void = { _ in }) -> ScanRecords {
        let (stream, continuation) = AsyncStream<[ImageRecord]>.makeStream(bufferingPolicy: .unbounded)
        // Made at 0 and signalled up: libdispatch traps when a semaphore is freed below the
        // value it was made with, which a cancelled scan leaves it at.
        let credit = DispatchSemaphore(value: 0)
        for _ in 0..<ScanRecords.batchesAhead { credit.signal() }
        let flag = StopFlag()
        continuation.onTermination = { _ in
            flag.stop()
            credit.signal()
        }
        let body: @Sendable (Bool) -> Void = { [self] bounded in
            let outcome = scan(roots: roots, walker: walker) { batch in
                if bounded { credit.wait() }
                if flag.isStopped { return .stop }
                continuation.yield(batch.records)
                progress(batch.done)
                return .proceed
            }
            finished(outcome)
            continuation.finish()
        }
        // No thread to be had: scan here, before the consumer can start, so without the bound.
        if !startThread({ body(true) }) { body(false) }
        return ScanRecords(batches: stream, credit: credit)
    }

    // MARK: Byte streams (the JSONL/CSV sinks)

    /// Walks and scans, handing each batch's serialised records (`format`, with `--stats`
    /// columns when `options.stats`) to `emit` in path order.
    public func scan(roots: [String], walker: Walker, emit: (UnsafeRawBufferPointer) -> Void,
                     progress: (Int) -> Void = { _ in }) -> (summary: ScanSummary, errors: [Walker.RootError], skipped: Int) {
        let o = scan(roots: roots, walker: walker, encoding: defaultEncoding, keepRecords: false) { batch in
            emit(batch.encoded)
            progress(batch.done)
            return .proceed
        }
        return (o.summary, o.rootErrors, o.skipped)
    }

    /// Scans `entries`; `emit` receives each batch's bytes in order, `progress` the count done.
    public func scan(_ entries: [WalkEntry], emit: (UnsafeRawBufferPointer) -> Void,
                     progress: (Int) -> Void = { _ in }) -> ScanSummary {
        scan(entries, encoding: defaultEncoding, keepRecords: false) { batch in
            emit(batch.encoded)
            progress(batch.done)
            return .proceed
        }.summary
    }

    /// `scan` collecting everything into one array (tests, small scans).
    public func scan(_ entries: [WalkEntry], emit: ([UInt8]) -> Void) -> ScanSummary {
        scan(entries, emit: { (bytes: UnsafeRawBufferPointer) in emit(Array(bytes)) }, progress: { _ in })
    }

    var defaultEncoding: RecordEncoding { RecordEncoding(format: format, stats: options.stats, fileStat: options.fileStat) }

    /// Per-scan state: the workers (each with its reader and output buffer) and the batch buffer.
    package final class ScanContext {
        let pool: WorkerPool
        let encoding: RecordEncoding?
        let keepRecords: Bool
        let workers: [Worker]
        let batch = ByteBuffer(capacity: 1 << 20)

        init(scanner: Scanner, encoding: RecordEncoding?, keepRecords: Bool) {
            pool = scanner.pool
            self.encoding = encoding
            self.keepRecords = keepRecords || encoding == nil
            let options = scanner.options
            workers = (0..<scanner.jobs).map { Worker(options: options, index: $0) }
        }

        func summary() -> ScanSummary {
            var total = ScanSummary()
            for w in workers {
                w.summary.bytesRead = w.reader.bytesRead
                total.merge(w.summary)
            }
            return total
        }

        func scanBatch(_ entries: [WalkEntry], start: Int, end: Int, done: Int,
                       onBatch: (ScanBatch) -> ScanControl) -> ScanControl {
            let count = end - start
            // Slot i: which worker serialised record i, and where in that worker's buffer; with
            // `keepRecords`, record i itself in its own buffer.
            let slots = UnsafeMutableBufferPointer<Slot>.allocate(capacity: count)
            defer { slots.deallocate() }
            let kept = UnsafeMutableBufferPointer<ImageRecord>.allocate(capacity: keepRecords ? count : 0)
            defer { kept.deallocate() }
            let encoding = self.encoding
            let keep = keepRecords
            let box = SlotBox(slots: slots, kept: kept)
            pool.run(count, workers: workers) { worker, i in
                let entry = entries[start + i]
                var record: ImageRecord
                if let message = entry.walkError {
                    record = ImageRecord(path: entry.path)
                    record.fail(ParseError(.io, at: 0, message, phase: .open))
                } else {
                    record = worker.reader.read(fullPath: entry.fullPath, path: entry.path)
                }
                worker.summary.add(record)
                let from = worker.output.count
                encoding?.encode(record, into: worker.output)
                box.slots[i] = Slot(worker: worker.index, start: from, end: worker.output.count)
                if keep { (box.kept.baseAddress! + i).initialize(to: record) }
            }
            var records: [ImageRecord] = []
            if keep {
                records.reserveCapacity(count)
                for i in 0..<count { records.append((kept.baseAddress! + i).move()) }
            }
            batch.removeAll()
            if encoding != nil {
                for s in slots { batch.append(from: workers[s.worker].output, start: s.start, end: s.end) }
            }
            for w in workers { w.output.removeAll() }
            let bytes = workers.reduce(0) { $0 + $1.summary.sizeBytes }
            return onBatch(ScanBatch(records: records, encoded: UnsafeRawBufferPointer(start: batch.base, count: batch.count),
                                     done: done, walked: done, walkFinished: false, bytes: bytes))
        }
    }

    package struct Slot {
        var worker: Int
        var start: Int
        var end: Int
    }

    package final class Worker {
        let reader: FileReader
        let index: Int
        let output = ByteBuffer(capacity: 1 << 20)
        var summary = ScanSummary()
        init(options: ReadOptions, index: Int = 0) {
            reader = FileReader(options: options)
            self.index = index
        }
    }

    /// The slots the workers fill. Safe to share: each index is claimed by exactly one worker
    /// through the pool's counter, and the slots are read only after the pool returns.
    package struct SlotBox: @unchecked Sendable {
        let slots: UnsafeMutableBufferPointer<Slot>
        let kept: UnsafeMutableBufferPointer<ImageRecord>
    }
}

/// A flag the consumer of `Scanner.records` sets to stop the scan.
final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func stop() { value.store(true, ordering: .relaxed) }
    var isStopped: Bool { value.load(ordering: .relaxed) }
}

/// Records of a scan in path order (`Scanner.records`). The producer runs at most
/// `batchesAhead` batches ahead: each batch taken gives it room for one more.
public struct ScanRecords: AsyncSequence, Sendable {
    public typealias Element = ImageRecord
    static let batchesAhead = 4
    let batches: AsyncStream<[ImageRecord]>
    let credit: DispatchSemaphore

    public struct AsyncIterator: AsyncIteratorProtocol {
        var inner: AsyncStream<[ImageRecord]>.AsyncIterator
        let credit: DispatchSemaphore
        var current: [ImageRecord] = []
        var index = 0

        public mutating func next() async -> ImageRecord? {
            while index >= current.count {
                guard let batch = await inner.next() else { return nil }
                credit.signal()
                current = batch
                index = 0
            }
            defer { index += 1 }
            return current[index]
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(inner: batches.makeAsyncIterator(), credit: credit)
    }
}

/// Batches of walk entries handed from the walking thread to the scanning one, at most
/// `capacity` in flight (so a fast walk over millions of files does not outrun memory).
package final class BatchQueue: Sendable {
    private let state = Mutex<(items: [[WalkEntry]], finished: Bool, cancelled: Bool)>(([], false, false))
    private let available = DispatchSemaphore(value: 0)
    private let space: DispatchSemaphore

    init(capacity: Int) {
        // Made at 0 and signalled up (libdispatch traps when a semaphore is freed below the
        // value it was made with, as a cancelled scan leaves this one).
        space = DispatchSemaphore(value: 0)
        for _ in 0..<capacity { space.signal() }
    }

    /// Queues a batch, waiting for room; false once the consumer has cancelled (stop walking).
    func push(_ batch: [WalkEntry]) -> Bool {
        space.wait()
        let accepted = state.withLock { s -> Bool in
            if s.cancelled { return false }
            s.items.append(batch)
            return true
        }
        if accepted { available.signal() } else { space.signal() }
        return accepted
    }

    /// The consumer stops: batches queued are dropped and the producer's next `push` fails.
    func cancel() {
        let dropped = state.withLock { s -> Int in
            s.cancelled = true
            let n = s.items.count
            s.items.removeAll()
            return n
        }
        for _ in 0..<max(dropped, 1) { space.signal() }
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
