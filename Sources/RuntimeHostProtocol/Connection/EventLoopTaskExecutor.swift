import NIOCore

/// Runs task jobs on a NIO event loop, so tasks that prefer it stay on the loop's thread.
///
/// Used (when configured) for serving requests: a request read on the loop, the handler task
/// and the response write then all happen on one thread, with no hand-off to the global pool.
/// Only for handlers that do little work between their awaits: anything they compute
/// holds up every channel on that loop.
final class EventLoopTaskExecutor: TaskExecutor {
    let loop: any EventLoop

    init(loop: any EventLoop) {
        self.loop = loop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { [self] in
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
