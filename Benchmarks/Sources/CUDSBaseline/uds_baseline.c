// The raw baseline for RHP: length-prefixed frames over a socketpair, served by a C thread.
#define _GNU_SOURCE
#include "uds_baseline.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t monotonic_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

static uint32_t read_be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void write_be32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static int send_all(int fd, const unsigned char *data, size_t length) {
    while (length > 0) {
        ssize_t n = write(fd, data, length);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) {
                struct pollfd p = {fd, POLLOUT, 0};
                poll(&p, 1, -1);
                continue;
            }
            return -1;
        }
        data += n;
        length -= (size_t)n;
    }
    return 0;
}

static void *echo_main(void *argument) {
    int fd = (int)(intptr_t)argument;
    size_t capacity = 4u << 20;
    unsigned char *buffer = malloc(capacity);
    size_t filled = 0;
    for (;;) {
        ssize_t n = read(fd, buffer + filled, capacity - filled);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        filled += (size_t)n;
        size_t complete = 0;
        while (filled - complete >= 4) {
            size_t frame = 4 + read_be32(buffer + complete);
            if (filled - complete < frame) break;
            complete += frame;
        }
        // Echo every complete frame with one write; keep the partial tail.
        if (complete > 0 && send_all(fd, buffer, complete) < 0) break;
        memmove(buffer, buffer + complete, filled - complete);
        filled -= complete;
    }
    free(buffer);
    close(fd);
    return NULL;
}

int uds_echo_start(uds_echo *echo) {
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) return -1;
    pthread_t *thread = malloc(sizeof *thread);
    if (pthread_create(thread, NULL, echo_main, (void *)(intptr_t)fds[1]) != 0) {
        free(thread);
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    echo->client_fd = fds[0];
    echo->server_fd = fds[1];
    echo->thread = thread;
    return 0;
}

void uds_echo_stop(uds_echo *echo) {
    shutdown(echo->client_fd, SHUT_RDWR);
    close(echo->client_fd);
    pthread_join(*(pthread_t *)echo->thread, NULL);
    free(echo->thread);
}

int uds_round_trips(int fd, size_t payload, long count, uint64_t *latencies_ns) {
    size_t frame = 4 + payload;
    unsigned char *request = calloc(1, frame), *reply = malloc(frame);
    write_be32(request, (uint32_t)payload);
    memset(request + 4, 0x5a, payload);
    int status = 0;
    for (long i = 0; i < count && status == 0; i++) {
        uint64_t start = monotonic_ns();
        if (send_all(fd, request, frame) < 0) { status = -1; break; }
        size_t have = 0;
        while (have < frame) {
            ssize_t n = read(fd, reply + have, frame - have);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) { status = -1; break; }
            have += (size_t)n;
        }
        latencies_ns[i] = monotonic_ns() - start;
    }
    free(request);
    free(reply);
    return status;
}

int uds_pipelined(int fd, size_t payload, long total, int depth, uint64_t *elapsed_ns) {
    size_t frame = 4 + payload;
    unsigned char *batch = malloc(frame * (size_t)depth);
    for (int i = 0; i < depth; i++) {
        write_be32(batch + (size_t)i * frame, (uint32_t)payload);
        memset(batch + (size_t)i * frame + 4, 0x6b, payload);
    }
    size_t in_capacity = frame * (size_t)depth + 65536;
    unsigned char *in = malloc(in_capacity);
    size_t in_filled = 0;
    long sent = 0, received = 0;
    int status = 0;
    uint64_t start = monotonic_ns();
    while (received < total) {
        // Keep `depth` frames outstanding: top up with one write.
        long room = depth - (sent - received);
        if (room > total - sent) room = total - sent;
        if (room > 0) {
            if (send_all(fd, batch, frame * (size_t)room) < 0) { status = -1; break; }
            sent += room;
        }
        ssize_t n = read(fd, in + in_filled, in_capacity - in_filled);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) { status = -1; break; }
        in_filled += (size_t)n;
        size_t used = 0;
        while (in_filled - used >= frame) {
            used += frame;
            received++;
        }
        memmove(in, in + used, in_filled - used);
        in_filled -= used;
    }
    *elapsed_ns = monotonic_ns() - start;
    free(batch);
    free(in);
    return status;
}
