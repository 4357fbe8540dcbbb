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
        @Sendable func mode(_ insecureNoSandbox: Bool, _ sandboxBinary: String) -> SandboxMode {
            insecureNoSandbox ? .unconfined : .sandboxed(SandboxOptions(bubblewrapPath: sandboxBinary))
        }
        return ProvisionerFactory(
            mock: { MockProvisioner() },
            sandbox: { hostInfo, insecureNoSandbox, sandboxBinary in
                SandboxProvisioner(
                    hostInfo: hostInfo, mode: mode(insecureNoSandbox, sandboxBinary), clock: clock, logger: logger,
                    timings: timings)
            },
            sgx: { hostInfo, loader, sandboxBinary, insecureNoSandbox in
                SandboxProvisioner(
                    hostInfo: hostInfo, mode: mode(insecureNoSandbox, sandboxBinary), clock: clock, logger: logger,
                    timings: timings, sgx: SGXOptions(loaderPath: loader))
            })
    }
}
