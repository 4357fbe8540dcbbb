#include "CSQLiteBaseline.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct baseline {
  sqlite3 *db;
  sqlite3_stmt *begin, *commit, *insert, *get, *latest, *prune, *count;
  uint64_t rng;
  uint8_t buffer[1 << 16];
};

static int fail(baseline *b, const char *what) {
  fprintf(stderr, "baseline: %s: %s\n", what, sqlite3_errmsg(b->db));
  return -1;
}

static int exec(baseline *b, const char *sql) {
  return sqlite3_exec(b->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : fail(b, sql);
}

static int prepare(baseline *b, const char *sql, sqlite3_stmt **statement) {
  return sqlite3_prepare_v2(b->db, sql, -1, statement, NULL) == SQLITE_OK ? 0 : fail(b, sql);
}

/// Steps a statement that returns no row, then resets it.
static int run(baseline *b, sqlite3_stmt *statement, const char *what) {
  int rc = sqlite3_step(statement);
  sqlite3_reset(statement);
  return rc == SQLITE_DONE ? 0 : fail(b, what);
}

baseline *baseline_open(const char *path, const char *synchronous, int fresh) {
  if (fresh) {
    char name[4096];
    unlink(path);
    snprintf(name, sizeof name, "%s-wal", path);
    unlink(name);
    snprintf(name, sizeof name, "%s-shm", path);
    unlink(name);
  }
  baseline *b = calloc(1, sizeof *b);
  if (!b) return NULL;
  b->rng = 88172645463325252ull;
  if (sqlite3_open(path, &b->db) != SQLITE_OK) {
    fail(b, "open");
    baseline_close(b);
    return NULL;
  }
  char pragma[64];
  snprintf(pragma, sizeof pragma, "PRAGMA synchronous=%s", synchronous);
  if (exec(b, "PRAGMA journal_mode=WAL") || exec(b, pragma) ||
      exec(b, "CREATE TABLE IF NOT EXISTS blocks(round INTEGER PRIMARY KEY, data BLOB NOT NULL)") ||
      prepare(b, "BEGIN", &b->begin) || prepare(b, "COMMIT", &b->commit) ||
      prepare(b, "INSERT INTO blocks(round, data) VALUES (?, ?)", &b->insert) ||
      prepare(b, "SELECT data FROM blocks WHERE round = ?", &b->get) ||
      prepare(b, "SELECT round, data FROM blocks ORDER BY round DESC LIMIT 1", &b->latest) ||
      prepare(b, "DELETE FROM blocks WHERE round < ?", &b->prune) ||
      prepare(b, "SELECT count(*) FROM blocks", &b->count)) {
    baseline_close(b);
    return NULL;
  }
  return b;
}

void baseline_close(baseline *b) {
  if (!b) return;
  sqlite3_stmt *statements[] = {b->begin, b->commit, b->insert, b->get, b->latest, b->prune, b->count};
  for (size_t i = 0; i < sizeof statements / sizeof *statements; i++) sqlite3_finalize(statements[i]);
  sqlite3_close(b->db);
  free(b);
}

static uint64_t next_random(baseline *b) {
  b->rng ^= b->rng << 13;
  b->rng ^= b->rng >> 7;
  b->rng ^= b->rng << 17;
  return b->rng;
}

int baseline_insert(baseline *b, int64_t first, int64_t count, int64_t per_txn, const uint8_t *blob, int length) {
  if (length > (int)sizeof b->buffer) return -1;
  memcpy(b->buffer, blob, (size_t)length);
  int64_t round = first, end = first + count;
  while (round < end) {
    if (run(b, b->begin, "begin")) return -1;
    for (int64_t i = 0; i < per_txn && round < end; i++, round++) {
      for (int w = 0; w < 8 && (w + 1) * 8 <= length; w++) {
        uint64_t r = next_random(b);
        memcpy(b->buffer + w * 8, &r, 8);
      }
      sqlite3_bind_int64(b->insert, 1, round);
      sqlite3_bind_blob(b->insert, 2, b->buffer, length, SQLITE_STATIC);
      if (run(b, b->insert, "insert")) return -1;
    }
    if (run(b, b->commit, "commit")) return -1;
  }
  return 0;
}

int baseline_lookup(baseline *b, const int64_t *rounds, int64_t count, uint64_t *checksum) {
  for (int64_t i = 0; i < count; i++) {
    sqlite3_bind_int64(b->get, 1, rounds[i]);
    if (sqlite3_step(b->get) != SQLITE_ROW) {
      sqlite3_reset(b->get);
      return fail(b, "lookup miss");
    }
    int n = sqlite3_column_bytes(b->get, 0);
    if (n > (int)sizeof b->buffer) n = sizeof b->buffer;
    memcpy(b->buffer, sqlite3_column_blob(b->get, 0), (size_t)n);
    *checksum += b->buffer[n / 2];
    sqlite3_reset(b->get);
  }
  return 0;
}

int baseline_latest(baseline *b, int64_t count, uint64_t *checksum) {
  for (int64_t i = 0; i < count; i++) {
    if (sqlite3_step(b->latest) != SQLITE_ROW) {
      sqlite3_reset(b->latest);
      return fail(b, "latest on an empty table");
    }
    *checksum += (uint64_t)sqlite3_column_int64(b->latest, 0);
    int n = sqlite3_column_bytes(b->latest, 1);
    if (n > (int)sizeof b->buffer) n = sizeof b->buffer;
    memcpy(b->buffer, sqlite3_column_blob(b->latest, 1), (size_t)n);
    sqlite3_reset(b->latest);
  }
  return 0;
}

int64_t baseline_prune(baseline *b, int64_t lowest, int64_t below, int64_t per_txn) {
  int64_t deleted = 0;
  for (int64_t bound = lowest; bound < below;) {
    bound = bound + per_txn < below ? bound + per_txn : below;
    if (run(b, b->begin, "begin")) return -1;
    sqlite3_bind_int64(b->prune, 1, bound);
    if (run(b, b->prune, "delete")) return -1;
    deleted += sqlite3_changes(b->db);
    if (run(b, b->commit, "commit")) return -1;
  }
  return deleted;
}

int64_t baseline_count(baseline *b) {
  if (sqlite3_step(b->count) != SQLITE_ROW) {
    sqlite3_reset(b->count);
    return fail(b, "count");
  }
  int64_t n = sqlite3_column_int64(b->count, 0);
  sqlite3_reset(b->count);
  return n;
}

int baseline_checkpoint(baseline *b) { return exec(b, "PRAGMA wal_checkpoint(TRUNCATE)"); }
