/// Why a file could not be read, with the byte offset where the reader stopped.
///
/// One error type for every format: the scanner turns it into the record's `error` string
/// ("<detail> at byte <offset>") and `status` (`unsupported` for `.unsupported`, else `error`).
public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The file ends before a structure that its header promises.
        case truncated
        /// The bytes are not the structure the format requires here.
        case malformed
        /// A limit that protects the scanner (nesting depth, inflate budget, value size) was hit.
        case limitExceeded
        /// Well-formed, but a variant this reader does not handle.
        case unsupported
        /// The operating system refused to open or read the file.
        case io
    }

    public var kind: Kind
    public var offset: Int
    public var detail: String

    public init(_ kind: Kind, at offset: Int, _ detail: String) {
        self.kind = kind
        self.offset = offset
        self.detail = detail
    }

    public var description: String { "\(detail) at byte \(offset)" }

    package static func truncated(at offset: Int, need: Int, have: Int, _ what: String) -> ParseError {
        ParseError(.truncated, at: offset,
                   "file ends inside \(what): \(need) bytes needed, \(max(have, 0)) left")
    }
}
