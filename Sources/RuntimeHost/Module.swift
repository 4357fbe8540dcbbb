// RuntimeHost: hosting runtime binaries (oasis-core's go/runtime/host).
//
// * Host API (Host/): HostConfig, Provisioner, HostedRuntime (a Service), HostEvent,
//   CapabilityTEE, and RichRuntime with the error mapping of host.md §2.5.
// * Provisioners: MockProvisioner (Mock/, no process) and SandboxProvisioner (Supervisor/),
//   which supervises a runtime process unconfined or in the sandbox: start sequence, restart
//   backoff, watchdog, aborts, and the SGX boundary. docs/SUPERVISION.md describes it.
// * The process layer (Process/, Sandbox/): spawning a runtime unconfined or inside the
//   bubblewrap + seccomp sandbox (RuntimeProcess), ELF library resolution and the preflight.
