import Dispatch
import Foundation
import ImagingXRemote

// Use case `scan s3://bucket/prefix`: the objects under a prefix of an S3-compatible store, read
// by HTTP Range requests (ImagingXRemote). The CLI builds the request and prints the result.

public struct RemoteScanRequest: Sendable {
    /// `s3://bucket[/prefix]`.
    public var url: String
    public var format: OutputFormat = .jsonl
    public var stats = false
    /// The `file_stat` fields: null for an object (it has no device, inode or ctime; its
    /// version, ETag and LastModified, is what `index s3://` keeps), as `export --file-stat` prints them.
    public var fileStat = false
    public var includeHidden = false
    /// Requests in flight (`--io-depth`).
    public var ioDepth = 64
    /// Anonymous requests (`--no-sign-request`): public buckets.
    public var unsigned = false
    /// Seconds one request may take (`--request-timeout`).
    public var requestTimeout = 30.0
    public var destination: RecordDestination = .standardOutput
    /// Where credentials, region and endpoint come from (the process's environment by default).
    public var environment: [String: String]?

    /// Only shard K of N: the objects whose folder relative to the prefix's folder falls to K
    /// (as `index s3:// --shard` owns them); the part needs a file (`destination`).
    public var shard: Shard?

    public init(url: String) { self.url = url }

    public static func isRemote(_ path: String) -> Bool { path.hasPrefix("s3://") }

    /// What a part's manifest records (the options that change the output), as a local scan's.
    var outputOptions: [String: String] {
        ["format": format.rawValue, "stats": String(stats), "file_stat": String(fileStat), "include_hidden": String(includeHidden)]
    }
}

public struct RemoteScanResult: Sendable {
    public var summary: ScanSummary
    public var requests: Int
    public var retries: Int
    /// Answers that ignored Range (whole object sent; read only as far as needed).
    public var rangeIgnored: Int
    public var seconds: Double
    public var filesPerSecond: Double { seconds > 0 ? Double(summary.files) / seconds : 0 }
}

public enum RemoteScanFailure: Error, Sendable, CustomStringConvertible {
    /// Not `s3://bucket[/prefix]`, or a bad option.
    case usage(String)
    /// Credentials, region or endpoint could not be found or read.
    case configuration(String)
    /// The listing failed (403, 404 bucket, network): nothing was scanned.
    case listing(String)
    case output(ScanError)

    public var description: String {
        switch self {
        case .usage(let m), .configuration(let m), .listing(let m): m
        case .output(let e): e.description
        }
    }
}

extension Application {
    /// `imagingx scan s3://bucket/prefix`: lists the prefix, reads each object's header by ranges
    /// (or, with `stats`, the whole object), writes the records in key order to the destination.
    public static func scanRemote(_ request: RemoteScanRequest,
                                  progress: @escaping @Sendable (Int, Int) -> Void = { _, _ in }) throws(RemoteScanFailure) -> RemoteScanResult {
        guard let location = S3Location(url: request.url) else {
            throw .usage("'\(request.url)' is not s3://bucket[/prefix]")
        }
        guard request.ioDepth >= 1, request.ioDepth <= 4096 else { throw .usage("--io-depth must be 1...4096") }
        guard request.requestTimeout > 0 else { throw .usage("--request-timeout must be positive") }
        var partFile: String?
        if request.shard != nil {
            guard case .file(let path) = request.destination else { throw .usage("--shard needs --output FILE (the part's manifest is written beside it)") }
            partFile = path
        }
        let root = RemoteRoot(url: request.url)
        let config: S3Config
        do {
            config = try S3Config.fromEnvironment(request.environment ?? ProcessInfo.processInfo.environment,
                                                  unsigned: request.unsigned)
        } catch {
            throw .configuration(error.description)
        }
        let sink: FileSink
        do { sink = try openSink(request.destination) } catch { throw .output(error) }
        defer { sink.close() }
        let encoding = RecordEncoding(format: request.format, stats: request.stats, fileStat: request.fileStat)
        sink.write(encoding.header)
        // The sink is used by the one task below while this thread waits for it.
        nonisolated(unsafe) let output = sink

        var options = RemoteScanOptions()
        options.ioDepth = request.ioDepth
        options.stats = request.stats
        options.includeHidden = request.includeHidden
        options.requestTimeout = request.requestTimeout
        let started = DispatchTime.now().uptimeNanoseconds
        let chosen = options
        let outcome = blocking { () async -> Result<RemoteScanResult, RemoteScanFailure> in
            let client = S3Client(config: config, connections: chosen.ioDepth, requestTimeout: chosen.requestTimeout,
                                  maxAttempts: chosen.maxAttempts)
            let scanner = RemoteScanner(client: client, location: location, options: chosen)
            var objects: [S3Object]
            do throws(S3Error) {
                objects = try await scanner.objects()
            } catch {
                await client.shutdown()
                return .failure(.listing(error.message))
            }
            if let shard = request.shard, let root {
                // An object belongs to the shard of its folder relative to the prefix's folder.
                objects = objects.filter { o in root.relative(o.key).map { StoredCursor.owns(shard, path: $0) } ?? false }
            }
            var summary = ScanSummary()
            let buffer = ByteBuffer()
            var done = 0
            await scanner.scan(objects) { record in
                summary.add(record)
                encoding.encode(record, into: buffer)
                done += 1
                if buffer.count >= 1 << 20 || done == objects.count {
                    output.write(UnsafeRawBufferPointer(start: buffer.base, count: buffer.count))
                    buffer.removeAll()
                    progress(done, objects.count)
                }
            }
            let counts = client.stats
            summary.bytesRead = counts.bytes
            await client.shutdown()
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            return .success(RemoteScanResult(summary: summary, requests: counts.requests, retries: counts.retries,
                                             rangeIgnored: counts.rangeIgnored, seconds: seconds))
        }
        let result = try outcome.get()
        if let shard = request.shard, let partFile {
            var st = stat()
            _ = fstat(sink.fd, &st)
            let manifest = ShardManifest(command: "scan", roots: [root?.path ?? request.url], options: request.outputOptions,
                                         shard: shard.index, shards: shard.count, records: result.summary.files, bytes: Int(st.st_size))
            do { try manifest.write(beside: partFile) } catch {
                throw .output(.cannotWrite(path: ShardManifest.path(for: partFile), reason: error.description))
            }
        }
        return result
    }

    /// Runs `body` on the concurrency pool and waits for it on this (non-pool) thread.
    static func blocking<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            box.value = await body()
            done.signal()
        }
        done.wait()
        return box.value!
    }
}

/// Set once by the task, read after the semaphore: the signal orders the two.
private final class ResultBox<T>: @unchecked Sendable {
    var value: T?
}
