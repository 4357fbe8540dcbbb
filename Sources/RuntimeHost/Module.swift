// RuntimeHost: hosting runtime binaries. This part holds the process layer: spawning a runtime
// unconfined or inside the bubblewrap + seccomp sandbox (RuntimeProcess), the sandbox's ELF
// library resolution and its preflight check. Provisioners and supervision build on it.
