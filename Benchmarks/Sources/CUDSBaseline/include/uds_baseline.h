#ifndef UDS_BASELINE_H
#define UDS_BASELINE_H

#include <stddef.h>
#include <stdint.h>

/// A connected Unix stream socket pair whose far end is served by an echo thread: every
/// complete length-prefixed frame (4-byte big-endian length) that arrives is sent back, all
/// frames from one read in one write.
typedef struct uds_echo {
    int client_fd;
    int server_fd;
    void *thread;
} uds_echo;

/// Starts the echo thread; 0 on success, -1 (errno set) on failure.
int uds_echo_start(uds_echo *echo);

/// Closes the client end and joins the echo thread.
void uds_echo_stop(uds_echo *echo);

/// `count` sequential round trips of a `payload`-byte frame; each round trip's duration in
/// nanoseconds goes to `latencies_ns[i]`. 0 on success, -1 on an I/O failure.
int uds_round_trips(int fd, size_t payload, long count, uint64_t *latencies_ns);

/// `total` frames of `payload` bytes with up to `depth` outstanding; the elapsed nanoseconds
/// go to `*elapsed_ns`. 0 on success, -1 on an I/O failure.
int uds_pipelined(int fd, size_t payload, long total, int depth, uint64_t *elapsed_ns);

#endif
