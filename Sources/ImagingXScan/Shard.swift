/// One of N parts of a tree, for runs spread over several machines (`--shard K/N`).
///
/// A file belongs to the shard of its *directory*, relative to the root it was found under:
/// a directory's files (a DICOM series, a case folder) stay together, and a file keeps its shard
/// when files are added elsewhere. The shard of a directory is
/// `mix(FNV-1a-64(UTF-8 of the relative path, no trailing "/"; "" for the root itself)) mod N`,
/// where `mix` is SplitMix64's finaliser (FNV alone spreads short, similar names poorly over a
/// small N). The function is part of the file formats we promise: it never changes, whatever
/// the version, machine or number of threads.
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    /// 0-based: a Slurm array task's `SLURM_ARRAY_TASK_ID`, a Kubernetes Indexed Job's
    /// `JOB_COMPLETION_INDEX`.
    public let index: Int
    public let count: Int

    public init?(index: Int, count: Int) {
        guard count >= 1, count <= Self.maxCount, index >= 0, index < count else { return nil }
        self.index = index
        self.count = count
    }

    /// The most shards a run may have (a Slurm array's default MaxArraySize is 1001).
    public static let maxCount = 1_000_000

    /// Parses "K/N" (decimal, 0 ≤ K < N); nil for anything else.
    public init?(spec: String) {
        let parts = spec.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.count <= 7 && $0.utf8.allSatisfy { $0 >= 48 && $0 <= 57 } }),
              let k = Int(parts[0]), let n = Int(parts[1]) else { return nil }
        self.init(index: k, count: n)
    }

    public var description: String { "\(index)/\(count)" }

    /// The shard (0..<count) a directory belongs to.
    public static func of(directory relative: some Collection<UInt8>, count: Int) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in relative {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01b3
        }
        h = (h ^ (h >> 30)) &* 0xbf58_476d_1ce4_e5b9
        h = (h ^ (h >> 27)) &* 0x94d0_49bb_1331_11eb
        h ^= h >> 31
        return Int(h % UInt64(count))
    }

    /// Whether this shard holds the files of `relative` (a directory's path under its root).
    public func owns(directory relative: some Collection<UInt8>) -> Bool {
        count == 1 || Self.of(directory: relative, count: count) == index
    }
}
