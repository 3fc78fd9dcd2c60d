// The floor SQLite sets for `imagingx index`: the rows of an existing index inserted again, one
// prepared single-row INSERT per file in transactions of 4,096 (what the index's writer does),
// from values already in memory, into a fresh file with the same schema, page size and journal.
// No parsing, no binding from Swift: what is left is SQLite's own cost per row.
//
//   cc -O2 sqlite_floor.c -lsqlite3 -o sqlite_floor && ./sqlite_floor INDEX.sqlite OUT.sqlite [--no-secondary]
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void check(int rc, sqlite3 *db, const char *what) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
        exit(1);
    }
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s INDEX.sqlite OUT.sqlite [--no-secondary]\n", argv[0]); return 2; }
    int secondary = !(argc > 3 && strcmp(argv[3], "--no-secondary") == 0);
    sqlite3 *src, *dst;
    check(sqlite3_open_v2(argv[1], &src, SQLITE_OPEN_READONLY, NULL), src, "open index");
    sqlite3_stmt *s;
    check(sqlite3_prepare_v2(src, "SELECT * FROM files ORDER BY id", -1, &s, NULL), src, "select");
    int columns = sqlite3_column_count(s), n = 0, capacity = 1024;
    sqlite3_value ***rows = malloc(sizeof *rows * capacity);
    while (sqlite3_step(s) == SQLITE_ROW) {
        if (n == capacity) rows = realloc(rows, sizeof *rows * (capacity *= 2));
        rows[n] = malloc(sizeof **rows * columns);
        for (int c = 0; c < columns; c++) rows[n][c] = sqlite3_value_dup(sqlite3_column_value(s, c));
        n++;
    }
    sqlite3_finalize(s);
    // The files table and (unless --no-secondary) its indexes, as the index holds them.
    check(sqlite3_prepare_v2(src, "SELECT sql FROM sqlite_master WHERE tbl_name = 'files' AND sql IS NOT NULL ORDER BY type DESC", -1, &s, NULL), src, "schema");
    remove(argv[2]);
    check(sqlite3_open(argv[2], &dst), dst, "open out");
    check(sqlite3_exec(dst, "PRAGMA page_size = 16384; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                            "PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY; PRAGMA foreign_keys = ON;"
                            "CREATE TABLE roots(id INTEGER PRIMARY KEY); CREATE TABLE datasets(id INTEGER PRIMARY KEY);"
                            "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < 1000) INSERT INTO roots SELECT i FROM k;", NULL, NULL, NULL), dst, "pragmas");
    int indexes = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        const char *sql = (const char *)sqlite3_column_text(s, 0);
        int isIndex = strncmp(sql, "CREATE INDEX", 12) == 0;
        if (isIndex && !secondary) continue;
        indexes += isIndex;
        check(sqlite3_exec(dst, sql, NULL, NULL, NULL), dst, sql);
    }
    sqlite3_finalize(s);
    char *sql = malloc(64 + 3 * columns);
    strcpy(sql, "INSERT INTO files VALUES (NULL");
    for (int c = 1; c < columns; c++) strcat(sql, ", ?");
    strcat(sql, ")");
    sqlite3_stmt *insert;
    check(sqlite3_prepare_v2(dst, sql, -1, &insert, NULL), dst, "insert");
    double t0 = now();
    clock_t c0 = clock();
    for (int b = 0; b < n; b += 4096) {
        check(sqlite3_exec(dst, "BEGIN", NULL, NULL, NULL), dst, "begin");
        for (int i = b; i < n && i < b + 4096; i++) {
            sqlite3_reset(insert);
            for (int c = 1; c < columns; c++) sqlite3_bind_value(insert, c, rows[i][c]);
            check(sqlite3_step(insert), dst, "step");
        }
        check(sqlite3_exec(dst, "COMMIT", NULL, NULL, NULL), dst, "commit");
    }
    double seconds = now() - t0, cpu = (double)(clock() - c0) / CLOCKS_PER_SEC;
    printf("%d rows, %d columns, unique(root_id, path) + %d secondary indexes: %.3f s wall, %.3f s CPU, %.2f us per row\n",
           n, columns - 1, indexes, seconds, cpu, seconds / n * 1e6);
    return 0;
}
