/*
 * sandbox-probe: a test fixture that tries things a sandboxed runtime must not be able to do,
 * and reports each attempt as one line on stdout:
 *
 *     result <probe> ok
 *     result <probe> errno <n>
 *
 * Commands run in order, each with a fixed number of arguments, e.g.
 *     sandbox-probe read /etc/hostname connect 127.0.0.1 8080 ptrace sleep
 * Run it with no arguments for the list. It links like any dynamically linked binary, so the
 * sandbox must bind its libraries (which is part of what the tests check).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "CSandbox.h"

extern char **environ;

static void report(const char *probe, int ok, int err) {
    if (ok) {
        printf("result %s ok\n", probe);
    } else {
        printf("result %s errno %d\n", probe, err);
    }
    fflush(stdout);
}

/* Lists open descriptors by asking fcntl about each number (works without /proc). */
static void probe_fds(void) {
    printf("fds");
    for (int fd = 0; fd < 4096; fd++) {
        if (fcntl(fd, F_GETFD) >= 0) printf(" %d", fd);
    }
    printf("\n");
    fflush(stdout);
}

static void probe_env(void) {
    for (char **e = environ; *e != NULL; e++) printf("env %s\n", *e);
    printf("env-end\n");
    fflush(stdout);
}

static void probe_read(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) { report("read", 0, errno); return; }
    char buf[64];
    ssize_t n = read(fd, buf, sizeof buf);
    int err = errno;
    close(fd);
    report("read", n >= 0, err);
}

static void probe_cat(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) { report("cat", 0, errno); return; }
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) fwrite(buf, 1, (size_t)n, stdout);
    close(fd);
    fflush(stdout);
}

/* Opens for writing (append, no data written) to see whether writing would be allowed. */
static void probe_write(const char *path) {
    int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0) { report("write", 0, errno); return; }
    close(fd);
    report("write", 1, 0);
}

static void probe_connect(const char *host, const char *port) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) { report("connect", 0, errno); return; }
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)atoi(port));
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) { close(s); report("connect", 0, EINVAL); return; }
    int rc = connect(s, (struct sockaddr *)&addr, sizeof addr);
    int err = errno;
    close(s);
    report("connect", rc == 0, err);
}

static void probe_unix(const char *path) {
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) { report("unix", 0, errno); return; }
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    strncpy(addr.sun_path, path, sizeof addr.sun_path - 1);
    int rc = connect(s, (struct sockaddr *)&addr, sizeof addr);
    int err = errno;
    close(s);
    report("unix", rc == 0, err);
}

/* Attaches to a child of its own: allowed for root (and for descendants under Yama). */
static void probe_ptrace(void) {
    pid_t child = fork();
    if (child < 0) { report("ptrace", 0, errno); return; }
    if (child == 0) { for (;;) pause(); }
    long rc = ptrace(PTRACE_ATTACH, child, NULL, NULL);
    int err = errno;
    kill(child, SIGKILL);
    while (waitpid(child, NULL, __WALL) < 0 && errno == EINTR) {}
    report("ptrace", rc == 0, err);
}

/* Mounts a file system type that does not exist: ENODEV means the mount was permitted and
 * got as far as looking the type up, without changing any mount table. */
static void probe_mount(void) {
    int rc = mount("none", "/tmp", "oasis-probe-no-such-fs", 0, NULL);
    int err = errno;
    report("mount", rc == 0 || err == ENODEV, err);
}

static void probe_unshare(void) {
    int rc = unshare(CLONE_NEWUTS);
    report("unshare", rc == 0, errno);
}

/* Creates a user namespace with clone(CLONE_NEWUSER); the child exits at once. */
static void probe_userns(void) {
    long pid = syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | SIGCHLD), NULL, NULL, NULL, NULL);
    if (pid == 0) _exit(0);
    if (pid < 0) { report("userns", 0, errno); return; }
    while (waitpid((pid_t)pid, NULL, 0) < 0 && errno == EINTR) {}
    report("userns", 1, 0);
}

/* clone3 with no arguments: the kernel says EINVAL, the sandbox's filter ENOSYS. */
static void probe_clone3(void) {
    long rc = syscall(SYS_clone3, NULL, 0);
    report("clone3", rc == 0, errno);
}

/* statx is not on the allow-list, so the sandbox answers EPERM. */
static void probe_denied(void) {
    char buf[512];
    long rc = syscall(SYS_statx, AT_FDCWD, "/", 0, 0x7ff, buf);
    report("denied", rc == 0, errno);
}

/* getpid through the 32-bit entry point (int 0x80), which the filter treats as a foreign
 * architecture. */
static void probe_int80(void) {
#if defined(__x86_64__)
    long result;
    __asm__ volatile("int $0x80" : "=a"(result) : "a"(20L) : "memory");
    report("int80", result > 0, result < 0 ? (int)-result : 0);
#else
    report("int80", 0, ENOSYS);
#endif
}

static void *thread_main(void *arg) { return arg; }

static void probe_thread(void) {
    pthread_t t;
    int rc = pthread_create(&t, NULL, thread_main, NULL);
    if (rc != 0) { report("thread", 0, rc); return; }
    pthread_join(t, NULL);
    report("thread", 1, 0);
}

static void probe_info(void) {
    char host[256] = {0}, cwd[4096] = {0};
    gethostname(host, sizeof host - 1);
    if (getcwd(cwd, sizeof cwd) == NULL) strcpy(cwd, "?");
    struct stat st;
    int proc = stat("/proc/self", &st) == 0;
    char tmpl[] = "/tmp/probe-XXXXXX";
    int fd = mkstemp(tmpl);
    int tmp_ok = fd >= 0 && write(fd, "x", 1) == 1;
    if (fd >= 0) { close(fd); unlink(tmpl); }
    printf("info hostname=%s cwd=%s proc=%d tmp-writable=%d\n", host, cwd, proc, tmp_ok);
    fflush(stdout);
}

/* Prints the core-dump limit and the OOM score adjustment the probe runs with. */
static void probe_limits(void) {
    struct rlimit core;
    getrlimit(RLIMIT_CORE, &core);
    char adj[32] = "?";
    int fd = open("/proc/self/oom_score_adj", O_RDONLY);
    if (fd >= 0) {
        ssize_t n = read(fd, adj, sizeof adj - 1);
        adj[n > 0 ? n : 0] = 0;
        if (n > 0 && adj[n - 1] == '\n') adj[n - 1] = 0;
        close(fd);
    }
    printf("limits core=%llu/%llu oom_score_adj=%s\n", (unsigned long long)core.rlim_cur,
           (unsigned long long)core.rlim_max, adj);
    fflush(stdout);
}

/* Allocates `mib` MiB and touches every page; prints whether the allocation was granted.
 * With `keep`, the memory stays allocated (and resident) until the process ends. */
static void probe_alloc(const char *mib, int keep) {
    size_t size = (size_t)strtoul(mib, NULL, 10) << 20;
    char *block = malloc(size);
    if (block != NULL) {
        for (size_t i = 0; i < size; i += 4096) block[i] = 1;
    }
    printf("%s %s %s\n", keep ? "hold" : "alloc", mib, block != NULL ? "ok" : "failed");
    fflush(stdout);
    if (!keep) free(block);
}

/* Forks a child that sleeps, prints its pid, and then sleeps too: kill must take both. */
static void probe_fork_sleep(void) {
    pid_t child = fork();
    if (child == 0) { for (;;) pause(); }
    printf("child %d\n", (int)child);
    fflush(stdout);
    for (;;) pause();
}

/* Checks whether a signal could be sent to PID (signal 0 sends nothing). */
static void probe_signal(const char *pid) {
    int rc = kill((pid_t)atoi(pid), 0);
    report("signal", rc == 0, errno);
}

/* Prints the signals the process starts with blocked or ignored: a runtime should inherit
 * neither from the node. */
static void probe_signals(void) {
    sigset_t blocked;
    sigprocmask(SIG_BLOCK, NULL, &blocked);
    printf("signals blocked");
    for (int sig = 1; sig < NSIG; sig++) if (sigismember(&blocked, sig) == 1) printf(" %d", sig);
    printf(" ignored");
    for (int sig = 1; sig < NSIG; sig++) {
        struct sigaction current;
        if (sigaction(sig, NULL, &current) == 0 && current.sa_handler == SIG_IGN) printf(" %d", sig);
    }
    printf("\n");
    fflush(stdout);
}

/* Writes TEXT and a newline to descriptor FD. */
static void probe_say(const char *fd, const char *text) {
    dprintf(atoi(fd), "%s\n", text);
}

static pid_t orphan_pid;

static void *orphan_spawner(void *unused) {
    (void)unused;
    char *argv[] = {"sleep", "1000", NULL};
    char *envp[] = {NULL};
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    int map[] = {devnull, 0, devnull, 1, devnull, 2};
    int rc = csb_spawn("/bin/sleep", argv, envp, map, 3, CSB_SPAWN_DIE_WITH_PARENT, &orphan_pid);
    close(devnull);
    if (rc != 0) orphan_pid = -1;
    return NULL;
}

/* Spawns `sleep` with CSB_SPAWN_DIE_WITH_PARENT from a thread that then exits, reports whether
 * the child outlived that thread (watching it for half a second), and returns: the caller
 * checks that the child dies with this process. */
static void probe_orphan(void) {
    pthread_t thread;
    pthread_create(&thread, NULL, orphan_spawner, NULL);
    pthread_join(thread, NULL);
    if (orphan_pid <= 0) { report("orphan", 0, EINVAL); return; }
    int alive = 1;
    for (int i = 0; i < 50 && alive; i++) {
        alive = waitpid(orphan_pid, NULL, WNOHANG) == 0;
        usleep(10000);
    }
    printf("orphan %d alive-after-thread=%d\n", (int)orphan_pid, alive);
    fflush(stdout);
}

static void usage(void) {
    fprintf(stderr,
            "usage: sandbox-probe COMMAND...\n"
            "  fds | env | info | limits | thread | clone3 | int80 | denied | ptrace | mount | unshare | userns\n"
            "  read PATH | cat PATH | write PATH | unix PATH | connect IPV4 PORT | exit CODE | stderr TEXT\n"
            "  signal PID | signals | say FD TEXT | orphan | sleep | fork-sleep | alloc MIB | hold MIB\n");
}

int main(int argc, char **argv) {
    if (argc < 2) { usage(); return 2; }
    for (int i = 1; i < argc; i++) {
        const char *c = argv[i];
        int left = argc - i - 1;
        if (strcmp(c, "fds") == 0) probe_fds();
        else if (strcmp(c, "env") == 0) probe_env();
        else if (strcmp(c, "info") == 0) probe_info();
        else if (strcmp(c, "limits") == 0) probe_limits();
        else if (strcmp(c, "thread") == 0) probe_thread();
        else if (strcmp(c, "clone3") == 0) probe_clone3();
        else if (strcmp(c, "int80") == 0) probe_int80();
        else if (strcmp(c, "denied") == 0) probe_denied();
        else if (strcmp(c, "ptrace") == 0) probe_ptrace();
        else if (strcmp(c, "mount") == 0) probe_mount();
        else if (strcmp(c, "unshare") == 0) probe_unshare();
        else if (strcmp(c, "userns") == 0) probe_userns();
        else if (strcmp(c, "signals") == 0) probe_signals();
        else if (strcmp(c, "orphan") == 0) probe_orphan();
        else if (strcmp(c, "signal") == 0 && left >= 1) probe_signal(argv[++i]);
        else if (strcmp(c, "say") == 0 && left >= 2) { probe_say(argv[i + 1], argv[i + 2]); i += 2; }
        else if (strcmp(c, "sleep") == 0) { for (;;) pause(); }
        else if (strcmp(c, "fork-sleep") == 0) probe_fork_sleep();
        else if (strcmp(c, "alloc") == 0 && left >= 1) probe_alloc(argv[++i], 0);
        else if (strcmp(c, "hold") == 0 && left >= 1) probe_alloc(argv[++i], 1);
        else if (strcmp(c, "read") == 0 && left >= 1) probe_read(argv[++i]);
        else if (strcmp(c, "cat") == 0 && left >= 1) probe_cat(argv[++i]);
        else if (strcmp(c, "write") == 0 && left >= 1) probe_write(argv[++i]);
        else if (strcmp(c, "unix") == 0 && left >= 1) probe_unix(argv[++i]);
        else if (strcmp(c, "stderr") == 0 && left >= 1) { fprintf(stderr, "%s\n", argv[++i]); fflush(stderr); }
        else if (strcmp(c, "exit") == 0 && left >= 1) return atoi(argv[++i]);
        else if (strcmp(c, "connect") == 0 && left >= 2) { probe_connect(argv[i + 1], argv[i + 2]); i += 2; }
        else { usage(); return 2; }
    }
    return 0;
}
