import Foundation
import GRDB
import ImagingX
import Testing

/// The PostgreSQL store's parts that need no server (scripts/postgres/test_postgres.py runs the
/// store against a real one): addresses, the schema's translation, lock keys, the shard filter.
@Suite("PostgreSQL store without a server")
struct PostgresStoreTests {
    @Test("addresses: user, password, host, port, database, percent-escapes, IPv6, PGPASSWORD and PGUSER")
    func addresses() throws {
        let u = try PostgresURL("postgres://lab%40x:p%3Aw%2Fd@db.example.org:6543/imaging%20index")
        #expect(u.user == "lab@x")
        #expect(u.password == "p:w/d")
        #expect(u.host == "db.example.org")
        #expect(u.port == 6543)
        #expect(u.database == "imaging index")
        #expect(u.connectTimeout == 10)

        let d = try PostgresURL("postgresql://scan@localhost/idx?connect_timeout=3&sslmode=disable", environment: ["PGPASSWORD": "fromenv"])
        #expect(d.port == 5432)
        #expect(d.password == "fromenv")
        #expect(d.connectTimeout == 3)
        #expect(d.sslMode == .disable)

        // TLS as libpq: prefer by default; PGSSLMODE and PGSSLROOTCERT when the URL says nothing.
        #expect(u.sslMode == .prefer && u.sslRootCert == nil)
        let t = try PostgresURL("postgres://u@h/db?sslmode=verify-full&sslrootcert=%2Fetc%2Fhostname")
        #expect(t.sslMode == .verifyFull && t.sslRootCert == "/etc/hostname")
        let te = try PostgresURL("postgres://u@h/db", environment: ["PGSSLMODE": "require", "PGSSLROOTCERT": "/etc/hostname"])
        #expect(te.sslMode == .require && te.sslRootCert == "/etc/hostname")
        #expect(try PostgresURL("postgres://u@h/db?sslmode=disable", environment: ["PGSSLMODE": "require"]).sslMode == .disable)

        // A password in the URL wins over PGPASSWORD; PGUSER fills a missing user.
        #expect(try PostgresURL("postgres://a:url@h/db", environment: ["PGPASSWORD": "env"]).password == "url")
        let e = try PostgresURL("postgres://h:1/db", environment: ["PGUSER": "envuser"])
        #expect(e.user == "envuser" && e.host == "h" && e.port == 1 && e.password == nil)

        let v6 = try PostgresURL("postgres://u@[::1]:5433/db")
        #expect(v6.host == "::1" && v6.port == 5433)
        #expect(v6.redacted == "postgres://u@[::1]:5433/db")
        #expect(PostgresURL.isPostgres("postgres://x") && PostgresURL.isPostgres("postgresql://x"))
        #expect(!PostgresURL.isPostgres("index.sqlite") && !PostgresURL.isPostgres("/tmp/postgres://x"))
    }

    @Test("malformed addresses are refused with the reason", arguments: [
        ("postgres://u@h", "no database"),
        ("postgres://u@h:5432/", "no database"),
        ("postgres://u@h:0/db", "port"),
        ("postgres://u@h:65536/db", "port"),
        ("postgres://u@h:54x/db", "port"),
        ("postgres://u@/db", "no host"),
        ("postgres://h/db", "no user"),
        ("postgres://u@[::1/db", "closing ]"),
        ("postgres://u@h/db?sslmode=strict", "sslmode must be one of disable, allow, prefer, require, verify-ca, verify-full"),
        ("postgres://u@h/db?sslmode=verify-full&sslrootcert=/nonexistent/root.crt", "cannot be read"),
        ("postgres://u@h/db?ssl=true", "unsupported parameter 'ssl'"),
        ("postgres://u@h/db?connect_timeout=0", "connect_timeout"),
        ("postgres://u:%zz@h/db", "two hex digits"),
        ("mysql://u@h/db", "postgres://"),
    ])
    func malformed(_ text: String, _ reason: String) {
        #expect {
            _ = try PostgresURL(text)
        } throws: { error in
            ((error as? PostgresURL.Invalid)?.reason ?? "").contains(reason)
        }
    }

    @Test("the password is in no description of an address, nor in the error of a store that cannot open")
    func passwordNeverShown() throws {
        let u = try PostgresURL("postgres://lab:TopSecret42@h:5/db")
        for text in [u.redacted, u.description, String(describing: u), String(reflecting: u), "\(u)"] {
            #expect(!text.contains("TopSecret42"), "\(text)")
        }
        #expect(u.redacted == "postgres://lab@h:5/db")
        // A port out of range: refused before any connection, and the message drops the password.
        #expect {
            _ = try PostgresIndexStore(url: "postgres://lab:TopSecret42@h:99999/db")
        } throws: { error in
            let text = "\(error)"
            return !text.contains("TopSecret42") && text.contains("postgres://lab@h:99999/db") && text.contains("port")
        }
    }

    @Test("schema v1 and v2 on PostgreSQL: the same tables and columns as SQLite's, translated, referenced tables first")
    func schemaTranslation() throws {
        let statements = PostgresSchema.v1
        let tables = statements.compactMap { $0.firstMatch(of: /^CREATE TABLE (\w+)/).map { String($0.1) } }
        // The SQLite index's own tables and columns (GRDB's bookkeeping aside).
        let dir = try temporaryDirectory("pg-schema")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try IndexStore(path: dir.appendingPathComponent("i.sqlite").path)
        let sqliteTables = try store.pool.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'grdb_migrations'")
        }
        #expect(Set(tables) == Set(sqliteTables))
        #expect(tables.count == sqliteTables.count)
        for table in sqliteTables {
            let columns = try store.pool.read { db in try Row.fetchAll(db, sql: "PRAGMA table_info(\(table))") }
            let create = try #require(statements.first { $0.hasPrefix("CREATE TABLE \(table) ") })
            for c in columns {
                let name: String = c["name"]
                let type: String = c["type"]
                let translated = type == "INTEGER" ? "BIGINT" : type == "REAL" ? "DOUBLE PRECISION" : "TEXT COLLATE \"C\""
                // Columns of later steps (v2: etag, last_modified) are added by ALTER TABLE.
                #expect(create.contains("\(name) \(translated)")
                        || PostgresSchema.v2.contains("ALTER TABLE \(table) ADD COLUMN \(name) \(translated)"), "\(table).\(name) \(type)")
            }
        }
        #expect(PostgresSchema.statements.map(\.step) == IndexStore.schemaSteps)
        for s in statements + PostgresSchema.v2 {
            #expect(s.firstMatch(of: /\bINTEGER\b|\bREAL\b|--/) == nil, "\(s)")
        }
        let sqliteIndexes = try store.pool.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'")
        }
        let indexes = statements.compactMap { $0.firstMatch(of: /^CREATE INDEX (\w+) ON/).map { String($0.1) } }
        #expect(Set(indexes) == Set(sqliteIndexes))
        // A table comes after every table it references.
        for (i, s) in statements.enumerated() {
            for ref in s.matches(of: /REFERENCES (\w+)/) {
                let at = try #require(tables.firstIndex(of: String(ref.1)))
                #expect(at <= i, "\(s.prefix(40)) references \(ref.1) before it exists")
            }
        }
        #expect(statements.first { $0.hasPrefix("CREATE TABLE files ") }?.contains("id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY") == true)
        #expect(statements.first { $0.hasPrefix("CREATE TABLE files ") }?.contains("UNIQUE (root_id, path)") == true)
    }

    @Test("writer locks: a shard's writer holds its (root, shard) and shares the root; a whole-root writer holds the root")
    func lockKeys() {
        let whole = PostgresIndexStore.lockKeys(roots: ["/data/b", "/data/a"], shard: nil)
        #expect(whole.shared.isEmpty)
        #expect(whole.exclusive == ["imagingx-index root /data/a", "imagingx-index root /data/b"])
        let one = PostgresIndexStore.lockKeys(roots: ["/data/a"], shard: Shard(index: 2, count: 4))
        #expect(one.shared == ["imagingx-index root /data/a"])
        #expect(one.exclusive == ["imagingx-index root /data/a shard 2/4"])
        #expect(PostgresIndexStore.lockKeys(roots: ["/r"], shard: Shard(index: 0, count: 1)) == ([], ["imagingx-index root /r"]))
    }

    @Test("the stored-file filter keeps exactly the files the shard's walk visits", arguments: [2, 3, 5] as [Int])
    func shardFilterMatchesWalk(_ n: Int) throws {
        let root = try temporaryDirectory("pg-shard-filter")
        defer { try? FileManager.default.removeItem(at: root) }
        try ShardTests.randomTree(at: root, seed: UInt64(n), files: 120)
        let all = Set(Walker().walk([root.path]).entries.map(\.path))
        var union = Set<String>()
        for k in 0..<n {
            var walker = Walker()
            let shard = try #require(Shard(index: k, count: n))
            walker.shard = shard
            let visited = Set(walker.walk([root.path]).entries.map(\.path))
            #expect(visited == Set(all.filter { StoredCursor.owns(shard, path: $0) }), "shard \(k)/\(n)")
            #expect(union.isDisjoint(with: visited))
            union.formUnion(visited)
        }
        #expect(union == all && all.count > 50)
    }
}
