//! Process hardening applied at start-up, before any secret is read: no core dumps (RLIMIT_CORE 0)
//! and, on Linux, PR_SET_DUMPABLE 0, which also stops other processes of the same user from
//! attaching with ptrace or reading `/proc/PID/mem`.

/// Best effort: a failure leaves the process as it was and is not worth refusing to run for.
pub fn harden_process() {
    let _ = rustix::process::setrlimit(
        rustix::process::Resource::Core,
        rustix::process::Rlimit {
            current: Some(0),
            maximum: Some(0),
        },
    );
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
}
