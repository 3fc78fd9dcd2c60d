/// Why a file could not be read, with the byte offset where the reader stopped.
///
/// One error type for every format. The scanner turns it into the record's `error` sentence
/// ("<detail> at byte <offset>"), its `error_code` (the kind) and `error_offset`, and its
/// `status` (`unsupported` for `.unsupported`, else `error`). The values involved travel as
/// fields (`need`, `have` for truncations), never only as text.
public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong; the raw value is the record's `error_code`.
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// The file ends before a structure that its header promises.
        case truncated
        /// The bytes are not the structure the format requires here.
        case malformed
        /// A limit that protects the scanner (nesting depth, inflate budget, value size) was hit.
        case limitExceeded = "limit_exceeded"
        /// Well-formed, but a variant this reader does not handle.
        case unsupported
        /// The operating system refused to open or read the file, or the walk could not list it.
        case io
    }

    /// Where in reading a file the error arose.
    public enum Phase: String, Sendable, Codable {
        /// Opening, stat-ing or listing the file.
        case open
        /// Reading and checking the header (and the data sizes it declares).
        case header
    }

    public var kind: Kind
    public var phase: Phase
    public var offset: Int
    public var detail: String
    /// Bytes the structure needs and bytes the file has left (truncations).
    public var need: Int?
    public var have: Int?

    public init(_ kind: Kind, at offset: Int, _ detail: String, phase: Phase = .header,
                need: Int? = nil, have: Int? = nil) {
        self.kind = kind
        self.phase = phase
        self.offset = offset
        self.detail = detail
        self.need = need
        self.have = have
    }

    public var description: String { "\(detail) at byte \(offset)" }

    @usableFromInline package static func truncated(at offset: Int, need: Int, have: Int, _ what: String) -> ParseError {
        ParseError(.truncated, at: offset,
                   "file ends inside \(what): \(need) bytes needed, \(max(have, 0)) left",
                   need: need, have: max(have, 0))
    }
}
