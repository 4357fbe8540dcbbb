import CSandbox
import Glibc
import Synchronization

/// One process-wide thread that waits in epoll for descriptors (output pipes, pidfds) to become
/// readable and runs a short handler for each.
///
/// Why a thread: waiting for a child or a pipe must not block a thread of Swift's cooperative
/// pool, and the alternatives (a thread per process, a detached task per pipe) are worse. Like
/// NIO's singleton event loop, the thread lives as long as the process; it holds no per-process
/// state other than the registrations below.
///
/// A registration is one-shot: the handler runs at most once, on the reactor thread, and must be
/// quick. Handlers must tolerate a spurious call (a stale event for a reused descriptor number):
/// they re-check with a non-blocking call and re-register if there is nothing to do.
final class DescriptorReactor: Sendable {
    /// The reactor every process shares. Started on first use.
    static let shared = DescriptorReactor()

    private struct Registration {
        var id: UInt64
        var handler: @Sendable () -> Void
    }

    private struct State {
        var nextID: UInt64 = 1
        var registrations: [Int32: Registration] = [:]
    }

    private let epollFD: Int32
    private let state = Mutex(State())

    private init() {
        epollFD = csb_epoll_create()
        precondition(epollFD >= 0, "epoll_create1 failed: \(errnoText(-epollFD))")
        var thread = pthread_t()
        // The reactor is never deallocated: the thread owns this retain.
        let context = Unmanaged.passRetained(self).toOpaque()
        let rc = pthread_create(
            &thread, nil,
            { context in
                let reactor = Unmanaged<DescriptorReactor>.fromOpaque(context!).takeUnretainedValue()
                reactor.run()
            }, context)
        precondition(rc == 0, "could not start the descriptor reactor thread: \(errnoText(rc))")
        pthread_detach(thread)
    }

    /// Calls `handler` once, on the reactor thread, when `fd` is readable, hung up or in error.
    /// Returns the registration id for `cancel`. One registration per descriptor at a time.
    func watch(_ fd: Int32, handler: @escaping @Sendable () -> Void) -> Result<UInt64, Errno> {
        state.withLock { state in
            let result = csb_epoll_watch_once(epollFD, fd)
            guard result == 0 else { return .failure(Errno(-result)) }
            let id = state.nextID
            state.nextID += 1
            state.registrations[fd] = Registration(id: id, handler: handler)
            return .success(id)
        }
    }

    /// Removes a registration that has not fired. Returns true when it was removed here, which
    /// means its handler will never run; false when the handler has run or is about to.
    func cancel(_ fd: Int32, id: UInt64) -> Bool {
        state.withLock { state in
            guard state.registrations[fd]?.id == id else { return false }
            state.registrations[fd] = nil
            _ = csb_epoll_unwatch(epollFD, fd)
            return true
        }
    }

    /// Waits until `fd` is readable (or hung up). Throws `CancellationError` when the task is
    /// cancelled first; the registration is then removed.
    func readable(_ fd: Int32) async throws {
        let pending = PendingRegistration()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                // Lock order everywhere: the pending state, then the reactor's state.
                pending.state.withLock { waiting in
                    if waiting.cancelled {
                        continuation.resume(throwing: CancellationError())
                        return
                    }
                    switch watch(fd, handler: { continuation.resume() }) {
                    case .failure(let error):
                        continuation.resume(throwing: error)
                    case .success(let id):
                        waiting.registration = (id, continuation)
                    }
                }
            }
        } onCancel: {
            pending.state.withLock { waiting in
                waiting.cancelled = true
                // Only a registration removed before it fired is resumed here; otherwise the
                // handler has resumed (or is resuming) it.
                if let (id, continuation) = waiting.registration, cancel(fd, id: id) {
                    continuation.resume(throwing: CancellationError())
                }
            }
        }
    }

    private func run() -> Never {
        let capacity: Int32 = 64
        var ready = [Int32](repeating: -1, count: Int(capacity))
        while true {
            let count = csb_epoll_wait(epollFD, &ready, capacity)
            if count < 0 {
                if count == -EINTR { continue }
                fatalError("epoll_wait failed: \(errnoText(-count))")
            }
            for index in 0..<Int(count) {
                let fd = ready[index]
                let handler: (@Sendable () -> Void)? = state.withLock { state in
                    guard let registration = state.registrations.removeValue(forKey: fd) else { return nil }
                    _ = csb_epoll_unwatch(epollFD, fd)
                    return registration.handler
                }
                handler?()
            }
        }
    }
}

/// The state one `readable` call shares with its cancellation handler.
private final class PendingRegistration: Sendable {
    struct Waiting {
        var cancelled = false
        var registration: (id: UInt64, continuation: CheckedContinuation<Void, any Error>)?
    }
    let state = Mutex(Waiting())
}

/// An errno value as an `Error`.
struct Errno: Error, Hashable, Sendable, CustomStringConvertible {
    /// The raw errno value.
    var code: Int32
    init(_ code: Int32) { self.code = code }
    var description: String { errnoText(code) }
}
