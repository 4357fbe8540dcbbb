// The raw-SQLite baseline for state-bench: the history's shapes through the sqlite3 C API.
// Table: blocks(round INTEGER PRIMARY KEY, data BLOB NOT NULL), WAL, synchronous as given.
#ifndef CSQLITE_BASELINE_H
#define CSQLITE_BASELINE_H

#include <stdint.h>

typedef struct baseline baseline;

/// Opens `path` (creating the table if needed) in WAL mode with `synchronous` (NORMAL or FULL).
/// `fresh` removes any existing file first. NULL on failure (the message goes to stderr).
baseline *baseline_open(const char *path, const char *synchronous, int fresh);
void baseline_close(baseline *b);

/// Inserts rounds first..first+count-1, `per_txn` rows per transaction, each a copy of `blob`
/// whose first 64 bytes vary. 0 on success.
int baseline_insert(baseline *b, int64_t first, int64_t count, int64_t per_txn, const uint8_t *blob, int length);

/// Reads each round of `rounds`, copying its blob out; adds a byte of each to `*checksum`.
/// 0 on success, -1 on a miss or an error.
int baseline_lookup(baseline *b, const int64_t *rounds, int64_t count, uint64_t *checksum);

/// `count` times: the row with the highest round, its blob copied out. 0 on success.
int baseline_latest(baseline *b, int64_t count, uint64_t *checksum);

/// Deletes every round below `below`, oldest first, `per_txn` rounds per transaction
/// (`DELETE … WHERE round < ?`, moving the bound up). Returns the number deleted, -1 on error.
int64_t baseline_prune(baseline *b, int64_t lowest, int64_t below, int64_t per_txn);

/// Number of rows; -1 on error.
int64_t baseline_count(baseline *b);

/// Checkpoints the WAL into the database file (TRUNCATE). 0 on success.
int baseline_checkpoint(baseline *b);

#endif
