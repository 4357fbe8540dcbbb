public import Logging
public import RuntimeHost

extension ProvisionerFactory {
    /// The host module's provisioners: ``MockProvisioner``, and ``SandboxProvisioner`` unconfined
    /// or in bubblewrap, with the SGX loader for SGX runtimes.
    ///
    /// - Parameters:
    ///   - clock: drives the supervisors' restarts, watchdog and call deadlines.
    ///   - logger: for the supervisors and the runtimes' output.
    ///   - timings: the supervisors' deadlines, restart backoff and watchdog.
    public static func standard(
        clock: any Clock<Duration> = ContinuousClock(), logger: Logger, timings: SupervisorTimings = SupervisorTimings()
    ) -> ProvisionerFactory {
        @Sendable func mode(_ settings: ProcessProvisionerSettings) -> SandboxMode {
            settings.insecureNoSandbox
                ? .unconfined : .sandboxed(SandboxOptions(bubblewrapPath: settings.sandboxBinary))
        }
        return ProvisionerFactory(
            mock: { MockProvisioner() },
            sandbox: { settings in
                SandboxProvisioner(
                    hostInfo: settings.hostInfo, mode: mode(settings), clock: clock, logger: logger, timings: timings,
                    memoryLimit: settings.memoryLimit)
            },
            sgx: { settings, loader in
                SandboxProvisioner(
                    hostInfo: settings.hostInfo, mode: mode(settings), clock: clock, logger: logger, timings: timings,
                    sgx: SGXOptions(loaderPath: loader), memoryLimit: settings.memoryLimit)
            })
    }
}
