/*
 * csb_spawn and friends: start a child with an exact descriptor map.
 *
 * The child is created with vfork(), so the parent's (possibly large, multi-threaded)
 * address space is not copied, and it runs only async-signal-safe system calls before
 * execve. The child shares the parent's memory until it execs, which is how a failure before
 * the exec is reported back: it stores errno in the request and exits.
 */
#define _GNU_SOURCE
#include "CSandbox.h"
#include "memfd.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* One spawn, shared between the caller, the spawner thread and the vfork child. */
struct spawn_request {
    const char *path;
    char *const *argv;
    char *const *envp;
    const int *fd_map;
    size_t n_pairs;
    int flags;
    /* RLIMIT_DATA for CSB_SPAWN_RUNTIME_LIMITS; 0: left as inherited. */
    unsigned long long memory_limit;
    pid_t parent_pid;
    /* Written by the child when a step before the exec fails. */
    volatile int child_error;
    /* Set by the spawner thread when the request is complete. */
    int done;
    int result;
    pid_t pid;
};

/* Fails the child: report errno through the shared request, then exit without running any
 * of the parent's atexit handlers or flushing its stdio buffers. */
__attribute__((noreturn)) static void child_fail(struct spawn_request *r, int err) {
    r->child_error = err != 0 ? err : EINVAL;
    _exit(127);
}

/* Marks every descriptor above `above` close-on-exec by walking /proc/self/fd with raw
 * getdents64 (opendir would allocate). Used only where close_range(2) is unavailable. */
static int child_cloexec_above_proc(int above) {
    int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) return errno;
    char buf[4096] __attribute__((aligned(8)));
    for (;;) {
        long n = syscall(SYS_getdents64, dir, buf, sizeof buf);
        if (n < 0) { int e = errno; close(dir); return e; }
        if (n == 0) break;
        for (long off = 0; off < n;) {
            struct dirent64 *d = (struct dirent64 *)(buf + off);
            off += d->d_reclen;
            int fd = 0, digits = 0;
            for (const char *p = d->d_name; *p >= '0' && *p <= '9'; p++, digits++) fd = fd * 10 + (*p - '0');
            if (digits == 0 || fd <= above || fd == dir) continue;
            (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
        }
    }
    close(dir);
    return 0;
}

/* The child side of the spawn: never returns. */
__attribute__((noreturn, noinline)) static void child_exec(struct spawn_request *r) {
    /* Default dispositions for every signal: handlers belong to the parent's code, and
     * ignored signals (SIGPIPE in many servers) would otherwise be inherited across exec.
     * Signals are still blocked here (the parent blocked them all before vfork). */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        (void)sigaction(sig, &dfl, NULL); /* EINVAL for the C library's reserved signals */
    }

    if (r->flags & CSB_SPAWN_NEW_SESSION) {
        if (setsid() < 0) child_fail(r, errno);
    } else if (r->flags & CSB_SPAWN_NEW_PROCESS_GROUP) {
        if (setpgid(0, 0) < 0) child_fail(r, errno);
    }

    if (r->flags & CSB_SPAWN_DIE_WITH_PARENT) {
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) child_fail(r, errno);
        /* The parent may have died between vfork and prctl. */
        if (getppid() != r->parent_pid) _exit(127);
    }

    if (r->flags & CSB_SPAWN_RUNTIME_LIMITS) {
        struct rlimit no_core = {0, 0};
        if (setrlimit(RLIMIT_CORE, &no_core) < 0) child_fail(r, errno);
        struct rlimit files;
        if (getrlimit(RLIMIT_NOFILE, &files) < 0) child_fail(r, errno);
        if (files.rlim_max == RLIM_INFINITY || files.rlim_max > CSB_RUNTIME_MAX_OPEN_FILES)
            files.rlim_max = CSB_RUNTIME_MAX_OPEN_FILES;
        files.rlim_cur = files.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &files) < 0) child_fail(r, errno);
        if (r->memory_limit > 0) {
            struct rlimit data;
            if (getrlimit(RLIMIT_DATA, &data) < 0) child_fail(r, errno);
            if (data.rlim_max == RLIM_INFINITY || data.rlim_max > (rlim_t)r->memory_limit)
                data.rlim_max = (rlim_t)r->memory_limit;
            data.rlim_cur = data.rlim_max;
            if (setrlimit(RLIMIT_DATA, &data) < 0) child_fail(r, errno);
        }
        int adj = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
        if (adj >= 0) {
            /* Raising one's own score needs no privilege. */
            if (write(adj, "1000", 4) != 4) { int err = errno; close(adj); child_fail(r, err); }
            close(adj);
        } else if (errno != ENOENT) {
            child_fail(r, errno);
        }
    }

    /* Move every source above the highest target first, so a dup2 onto a target can never
     * clobber a source that is still needed (e.g. the maps 3->4 and 4->3). The copies are
     * close-on-exec and disappear with the exec. */
    int highest_target = 2;
    for (size_t i = 0; i < r->n_pairs; i++) {
        int target = r->fd_map[2 * i + 1];
        if (target < 0) child_fail(r, EBADF);
        if (target > highest_target) highest_target = target;
    }
    /* A variable-length array keeps the child free of malloc. */
    int moved[r->n_pairs > 0 ? r->n_pairs : 1];
    for (size_t i = 0; i < r->n_pairs; i++) {
        moved[i] = fcntl(r->fd_map[2 * i], F_DUPFD_CLOEXEC, highest_target + 1);
        if (moved[i] < 0) child_fail(r, errno);
    }
    for (size_t i = 0; i < r->n_pairs; i++) {
        if (dup2(moved[i], r->fd_map[2 * i + 1]) < 0) child_fail(r, errno);
    }

    /* Close every descriptor that is not a target. */
    for (int fd = 0; fd <= highest_target; fd++) {
        int keep = 0;
        for (size_t i = 0; i < r->n_pairs && !keep; i++) keep = r->fd_map[2 * i + 1] == fd;
        if (!keep) (void)close(fd);
    }
    if (syscall(SYS_close_range, (unsigned)highest_target + 1, ~0U, 0) < 0) {
        int err = child_cloexec_above_proc(highest_target);
        if (err != 0) child_fail(r, err);
    }

    sigset_t none;
    sigemptyset(&none);
    if (sigprocmask(SIG_SETMASK, &none, NULL) < 0) child_fail(r, errno);

    execve(r->path, r->argv, r->envp);
    child_fail(r, errno);
}

/* Runs one spawn on the calling thread. */
static int spawn_here(struct spawn_request *r) {
    sigset_t all, old;
    sigfillset(&all);
    /* With every signal blocked, no handler of the parent can run in the vfork child, which
     * shares the parent's memory. */
    pthread_sigmask(SIG_SETMASK, &all, &old);
    r->child_error = 0;
    r->parent_pid = getpid();
    pid_t pid = vfork();
    if (pid == 0) child_exec(r);
    int vfork_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (pid < 0) return -vfork_errno;
    if (r->child_error != 0) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        return -r->child_error;
    }
    r->pid = pid;
    return 0;
}

/* The spawner thread: parent-death signals are delivered when the *thread* that created the
 * child exits, so spawns that ask for one run here, on a thread that never exits. */
static pthread_mutex_t spawner_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t spawner_request_ready = PTHREAD_COND_INITIALIZER;
static pthread_cond_t spawner_request_done = PTHREAD_COND_INITIALIZER;
static struct spawn_request *spawner_pending = NULL;
static pthread_once_t spawner_once = PTHREAD_ONCE_INIT;
static int spawner_start_error = 0;

static void *spawner_main(void *unused) {
    (void)unused;
    pthread_mutex_lock(&spawner_lock);
    for (;;) {
        while (spawner_pending == NULL || spawner_pending->done) {
            pthread_cond_wait(&spawner_request_ready, &spawner_lock);
        }
        struct spawn_request *r = spawner_pending;
        pthread_mutex_unlock(&spawner_lock);
        int result = spawn_here(r);
        pthread_mutex_lock(&spawner_lock);
        r->result = result;
        r->done = 1;
        spawner_pending = NULL;
        pthread_cond_broadcast(&spawner_request_done);
    }
    return NULL;
}

static void spawner_start(void) {
    pthread_attr_t attr;
    pthread_t thread;
    sigset_t all, old;
    sigfillset(&all);
    /* The thread inherits this mask: it never runs signal handlers. */
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    spawner_start_error = pthread_create(&thread, &attr, spawner_main, NULL);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static int spawn_on_spawner_thread(struct spawn_request *r) {
    pthread_once(&spawner_once, spawner_start);
    if (spawner_start_error != 0) return -spawner_start_error;
    pthread_mutex_lock(&spawner_lock);
    while (spawner_pending != NULL) pthread_cond_wait(&spawner_request_done, &spawner_lock);
    r->done = 0;
    spawner_pending = r;
    pthread_cond_signal(&spawner_request_ready);
    while (!r->done) pthread_cond_wait(&spawner_request_done, &spawner_lock);
    pthread_mutex_unlock(&spawner_lock);
    return r->result;
}

int csb_spawn(const char *path, char *const argv[], char *const envp[],
              const int *fd_map, size_t n_pairs, int flags, pid_t *pid_out) {
    return csb_spawn_limited(path, argv, envp, fd_map, n_pairs, flags, 0, pid_out);
}

int csb_spawn_limited(const char *path, char *const argv[], char *const envp[],
                      const int *fd_map, size_t n_pairs, int flags, unsigned long long memory_limit,
                      pid_t *pid_out) {
    if (path == NULL || argv == NULL || envp == NULL || pid_out == NULL) return -EINVAL;
    if (n_pairs > 0 && fd_map == NULL) return -EINVAL;
    for (size_t i = 0; i < n_pairs; i++) {
        if (fd_map[2 * i] < 0 || fd_map[2 * i + 1] < 0) return -EBADF;
        for (size_t j = 0; j < i; j++) {
            if (fd_map[2 * j + 1] == fd_map[2 * i + 1]) return -EINVAL;
        }
    }
    struct spawn_request r;
    memset(&r, 0, sizeof r);
    r.path = path;
    r.argv = argv;
    r.envp = envp;
    r.fd_map = fd_map;
    r.n_pairs = n_pairs;
    r.flags = flags;
    r.memory_limit = memory_limit;
    int result = (flags & CSB_SPAWN_DIE_WITH_PARENT) ? spawn_on_spawner_thread(&r) : spawn_here(&r);
    if (result == 0) *pid_out = r.pid;
    return result;
}

int csb_pidfd_open(pid_t pid) {
    long fd = syscall(SYS_pidfd_open, pid, 0);
    return fd < 0 ? -errno : (int)fd;
}

int csb_pidfd_reap(int pidfd, int *exited, int *status) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    for (;;) {
        if (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED | WNOHANG) == 0) break;
        if (errno != EINTR) return -errno;
    }
    if (info.si_pid == 0) return 0;
    *exited = info.si_code == CLD_EXITED;
    *status = info.si_status;
    return 1;
}

int csb_pidfd_reap_group(int pidfd, int *exited, int *status) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    for (;;) {
        if (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED | WNOHANG | WNOWAIT) == 0) break;
        if (errno != EINTR) return -errno;
    }
    if (info.si_pid == 0) return 0;
    (void)kill(-info.si_pid, SIGKILL);
    return csb_pidfd_reap(pidfd, exited, status);
}

int csb_write_all(int fd, const void *buf, size_t len) {
    sigset_t pipe_only, old, pending;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    sigemptyset(&pending);
    (void)sigpending(&pending);
    int was_pending = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
    const char *p = buf;
    int result = 0;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            result = -errno;
            break;
        }
        p += n;
        len -= (size_t)n;
    }
    if (result == -EPIPE && !was_pending) {
        /* Consume the SIGPIPE this write raised while it is still blocked. */
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_only, NULL, &zero) < 0 && errno == EINTR) {}
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return result;
}

int csb_memfd_with_contents(const char *name, const void *buf, size_t len) {
    int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) return -errno;
    int rc = len > 0 ? csb_write_all(fd, buf, len) : 0;
    if (rc != 0) {
        close(fd);
        return rc;
    }
    return csb_memfd_seal(fd);
}

int csb_memfd_seal(int fd) {
    if (lseek(fd, 0, SEEK_SET) < 0 ||
        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
        int err = errno;
        close(fd);
        return -err;
    }
    return fd;
}
