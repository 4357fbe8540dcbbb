/*
 * CSandbox: the few system calls the Swift runtime host cannot make from Swift.
 *
 * 1. Spawning a child with an *exact* descriptor map: the child gets precisely the
 *    descriptors the caller names, at the numbers it names, and nothing else. Swift's
 *    process APIs either close every descriptor above 2 or leak whatever is open.
 * 2. Building the runtime sandbox's seccomp filter with libseccomp and exporting it as a
 *    raw BPF program, which bubblewrap loads through `--seccomp FD`.
 *
 * Every function returns 0 (or a non-negative result) on success and a negated errno value
 * on failure; none of them touches `errno` of the calling thread in a way callers rely on.
 */
#ifndef CSANDBOX_H
#define CSANDBOX_H

#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The child becomes the leader of a new process group (setpgid(0, 0)), so the whole
 * group can be killed with kill(-pid, sig). */
#define CSB_SPAWN_NEW_PROCESS_GROUP 0x1
/* The child starts a new session (setsid()); implies a new process group. */
#define CSB_SPAWN_NEW_SESSION 0x2
/* The child receives SIGKILL when the parent dies (PR_SET_PDEATHSIG). The kernel ties this
 * to the *thread* that spawned the child, so such spawns run on a dedicated spawner thread
 * that lives as long as the process; a short-lived pool thread would otherwise take the
 * child with it when it exits. */
#define CSB_SPAWN_DIE_WITH_PARENT 0x4
/* Limits for an untrusted runtime, inherited by everything it starts (the sandbox included):
 * no core dumps (RLIMIT_CORE 0, soft and hard, so a crash cannot write its memory to disk);
 * at most CSB_RUNTIME_MAX_OPEN_FILES descriptors (RLIMIT_NOFILE, soft and hard, or the node's
 * own hard limit if that is lower), so it cannot take the kernel's file table; and the OOM
 * killer's first choice (oom_score_adj 1000, so under memory pressure the kernel kills the
 * runtime, which the node restarts, rather than the node). The oom_score_adj write is skipped
 * when /proc is not mounted. */
#define CSB_RUNTIME_MAX_OPEN_FILES 4096
#define CSB_SPAWN_RUNTIME_LIMITS 0x8

/*
 * Spawns `path` with `argv` and `envp` (both NULL-terminated) and returns the child's pid
 * through `pid_out`.
 *
 * `fd_map` holds `n_pairs` pairs (parent_fd, child_fd): in the child, parent_fd is
 * duplicated to child_fd (without close-on-exec). Every other descriptor is closed before
 * exec, so the child sees exactly the child_fd numbers. A parent_fd may appear in several
 * pairs; child_fd numbers must be distinct and non-negative. Unmapped 0, 1, 2 stay closed,
 * which callers usually avoid by mapping /dev/null.
 *
 * The child also gets an empty signal mask and default signal dispositions (ignored
 * signals are not inherited), and the process-group, session and parent-death options of
 * `flags` (CSB_SPAWN_*).
 *
 * Returns 0 when the child has executed `path`. When anything fails before the exec, no
 * child remains (it has exited and been reaped) and the result is the negated errno of the
 * failing step, e.g. -ENOENT for a missing binary.
 */
int csb_spawn(const char *path, char *const argv[], char *const envp[],
              const int *fd_map, size_t n_pairs, int flags, pid_t *pid_out);

/*
 * csb_spawn with a memory limit: with CSB_SPAWN_RUNTIME_LIMITS and a non-zero `memory_limit`,
 * the child's RLIMIT_DATA (soft and hard; lower if the caller's own hard limit is) is
 * `memory_limit` bytes. Linux counts the heap and every private writable mapping against it
 * (anonymous mmap, thread stacks, malloc arenas as they are used), not reserved address space
 * or shared and file-backed read-only mappings, so it bounds what the process can allocate.
 * Like the other runtime limits it is inherited by everything the child starts; each process
 * has its own.
 */
int csb_spawn_limited(const char *path, char *const argv[], char *const envp[],
                      const int *fd_map, size_t n_pairs, int flags, unsigned long long memory_limit,
                      pid_t *pid_out);

/*
 * Returns a pidfd for `pid` (pidfd_open, close-on-exec), or a negated errno. A pidfd becomes
 * readable when the process exits and lets the caller reap it without pid reuse races.
 */
int csb_pidfd_open(pid_t pid);

/*
 * Reaps the exited process behind `pidfd` without blocking (waitid(P_PIDFD, WEXITED |
 * WNOHANG)). On success returns 1 and stores how it ended: `*exited` is 1 with the exit code
 * in `*status`, or 0 with the terminating signal in `*status`. Returns 0 when the process is
 * still running, or a negated errno.
 */
int csb_pidfd_reap(int pidfd, int *exited, int *status);

/*
 * csb_pidfd_reap for the leader of a process group: once the process has exited, and before it
 * is reaped, sends SIGKILL to its process group, so nothing it started in the group outlives
 * it. The group is signalled while the leader is an unreaped zombie, which keeps its pid (the
 * group id) from being reused. Same results as csb_pidfd_reap.
 */
int csb_pidfd_reap_group(int pidfd, int *exited, int *status);

/*
 * Builds the runtime sandbox's seccomp filter (oasis-core's allow-list, see
 * docs/THREAT_MODEL.md) and writes it as a raw BPF program to `fd`:
 *  - default action: fail with EPERM;
 *  - about 300 system calls allowed with any arguments (names unknown on the running
 *    architecture are skipped);
 *  - `clone` allowed only when its flags create no namespace (CLONE_NEWNS, NEWUTS, NEWIPC,
 *    NEWUSER, NEWPID, NEWNET, NEWCGROUP);
 *  - `clone3` fails with ENOSYS, so a C library falls back to `clone` (EPERM would be fatal);
 *  - system calls of a foreign architecture (e.g. the 32-bit ABI) kill the calling thread
 *    (libseccomp's default bad-architecture action).
 * The program is written in full before returning; `fd` is left open.
 */
int csb_seccomp_export_bpf(int fd);

/*
 * Creates a sealed in-memory file (memfd, close-on-exec) holding exactly `len` bytes of `buf`,
 * positioned at offset 0, and returns its descriptor or a negated errno. bubblewrap reads its
 * `--args`, `--seccomp` and `--ro-bind-data` descriptors to end of file, so setup data handed
 * over this way is complete before the sandbox starts and can neither block nor be changed.
 */
int csb_memfd_with_contents(const char *name, const void *buf, size_t len);

/*
 * Like csb_seccomp_export_bpf, but returns a sealed memfd (as csb_memfd_with_contents) holding
 * the program, or a negated errno.
 */
int csb_seccomp_memfd(void);

/*
 * Creates a pipe whose two ends are close-on-exec (pipe2 with O_CLOEXEC): fds[0] reads,
 * fds[1] writes. Returns 0 or a negated errno.
 */
int csb_pipe_cloexec(int fds[2]);

/*
 * A minimal epoll interface for the runtime host's descriptor reactor (Swift's Glibc module
 * does not import <sys/epoll.h>, and struct epoll_event is packed on x86_64).
 */
/* Creates a close-on-exec epoll instance; returns its descriptor or a negated errno. */
int csb_epoll_create(void);
/* Watches `fd` for one readable / hang-up / error event (EPOLLIN | EPOLLRDHUP |
 * EPOLLONESHOT); the event carries `fd`. Returns 0 or a negated errno (EEXIST if watched). */
int csb_epoll_watch_once(int epfd, int fd);
/* Stops watching `fd`. Returns 0 or a negated errno. */
int csb_epoll_unwatch(int epfd, int fd);
/* Blocks until at least one watched descriptor has an event, then stores up to `max` of
 * them in `fds` and returns how many; a negated errno on failure (-EINTR included). */
int csb_epoll_wait(int epfd, int *fds, int max);

/*
 * Writes the whole buffer to `fd`, retrying on short writes and EINTR. Returns 0 or a
 * negated errno (EPIPE when the reader has gone away). SIGPIPE is blocked around the write and
 * a SIGPIPE it raised is consumed, so the caller needs no process-wide SIGPIPE policy.
 */
int csb_write_all(int fd, const void *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* CSANDBOX_H */
