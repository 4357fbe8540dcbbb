#define _GNU_SOURCE
#include "spawn_baseline.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int read_full(int fd, uint8_t *buffer, size_t length) {
    size_t got = 0;
    while (got < length) {
        ssize_t r = read(fd, buffer + got, length - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        got += (size_t)r;
    }
    return 0;
}

int spawn_ping_once(const char *socket_path, char *const argv[], char *const envp[], const uint8_t *request,
                    size_t request_length, uint64_t *elapsed_ns) {
    unlink(socket_path);
    int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listener < 0) { perror("socket"); return -1; }
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    strncpy(address.sun_path, socket_path, sizeof address.sun_path - 1);
    if (bind(listener, (struct sockaddr *)&address, sizeof address) < 0 || listen(listener, 16) < 0) {
        perror("bind/listen");
        close(listener);
        return -1;
    }
    int result = -1;
    uint64_t start = now_ns();
    pid_t child;
    int rc = posix_spawn(&child, argv[0], NULL, NULL, argv, envp);
    if (rc != 0) {
        fprintf(stderr, "posix_spawn %s: %s\n", argv[0], strerror(rc));
        close(listener);
        return -1;
    }
    int connection = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    if (connection < 0) {
        perror("accept");
    } else {
        uint8_t header[4];
        static uint8_t body[1 << 16];
        if (write(connection, request, request_length) != (ssize_t)request_length) {
            perror("write");
        } else if (read_full(connection, header, 4) == 0) {
            size_t length = ((size_t)header[0] << 24) | ((size_t)header[1] << 16) | ((size_t)header[2] << 8) | header[3];
            if (length <= sizeof body && read_full(connection, body, length) == 0) {
                *elapsed_ns = now_ns() - start;
                result = 0;
            } else {
                fprintf(stderr, "bad answer frame\n");
            }
        } else {
            fprintf(stderr, "no answer\n");
        }
        close(connection);
    }
    kill(child, SIGKILL);
    int status;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
    close(listener);
    unlink(socket_path);
    return result;
}
