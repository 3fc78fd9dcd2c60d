#if canImport(Glibc)
import Glibc
#endif

/// Settings every use case shares when a request does not give them.
public enum Defaults {
    /// Parallel workers: the cores online, read once per process (at least 1).
    public static var jobs: Int { cores }

    private static let cores = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
}
