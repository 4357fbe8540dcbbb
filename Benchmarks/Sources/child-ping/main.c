// The C child of host-bench's floor baseline: connects to $OASIS_WORKER_HOST, reads one
// length-prefixed frame, writes it back and waits for the host to close the connection.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(void) {
    const char *path = getenv("OASIS_WORKER_HOST");
    if (path == NULL) return 2;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    strncpy(address.sun_path, path, sizeof address.sun_path - 1);
    if (connect(fd, (struct sockaddr *)&address, sizeof address) < 0) return 3;
    static uint8_t frame[1 << 16];
    size_t got = 0, need = 4;
    while (got < need) {
        ssize_t r = read(fd, frame + got, sizeof frame - got);
        if (r <= 0) return 4;
        got += (size_t)r;
        if (got >= 4) need = 4 + (((size_t)frame[0] << 24) | ((size_t)frame[1] << 16) | ((size_t)frame[2] << 8) | frame[3]);
        if (need > sizeof frame) return 5;
    }
    if (write(fd, frame, need) != (ssize_t)need) return 6;
    while (read(fd, frame, sizeof frame) > 0) {}
    return 0;
}
