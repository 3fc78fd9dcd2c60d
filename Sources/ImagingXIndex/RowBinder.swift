import GRDB
import GRDBSQLite

/// Binds a row's values straight into a prepared statement through SQLite's C API, with no
/// boxing into `DatabaseValue` (what `StatementArguments` does): the index's insert is its hot
/// path, one call per file. Text is copied by SQLite (SQLITE_TRANSIENT).
struct RowBinder: ColumnBinder {
    let statement: OpaquePointer
    var index: Int32 = 1
    static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    init(_ statement: Statement) {
        self.statement = statement.sqliteStatement
        sqlite3_reset(self.statement)
    }

    mutating func null() {
        sqlite3_bind_null(statement, index)
        index += 1
    }

    mutating func int(_ v: Int?) {
        if let v { sqlite3_bind_int64(statement, index, Int64(v)) } else { sqlite3_bind_null(statement, index) }
        index += 1
    }

    mutating func int64(_ v: Int64?) {
        if let v { sqlite3_bind_int64(statement, index, v) } else { sqlite3_bind_null(statement, index) }
        index += 1
    }

    mutating func bool(_ v: Bool?) { int(v.map { $0 ? 1 : 0 }) }

    /// A finite number, or NULL (SQLite stores NaN as NULL anyway).
    mutating func double(_ v: Double?) {
        if let v, v.isFinite { sqlite3_bind_double(statement, index, v) } else { sqlite3_bind_null(statement, index) }
        index += 1
    }

    mutating func text(_ v: String?) {
        if var v {
            v.withUTF8 { u in
                _ = u.withMemoryRebound(to: CChar.self) { sqlite3_bind_text(statement, index, $0.baseAddress, Int32(u.count), Self.transient) }
            }
        } else {
            sqlite3_bind_null(statement, index)
        }
        index += 1
    }

    mutating func text(bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { u in
            _ = u.withMemoryRebound(to: CChar.self) { sqlite3_bind_text(statement, index, $0.baseAddress, Int32(u.count), Self.transient) }
        }
        index += 1
    }

    /// Runs the statement; throws SQLite's message on failure.
    func step(_ db: Database) throws {
        let code = sqlite3_step(statement)
        guard code == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
        }
    }
}
