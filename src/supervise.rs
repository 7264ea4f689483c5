//! `run --mask`: sesame stays the parent, passes signals on, and filters the child's output.
//!
//! SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to sesame are forwarded to the child. A signal the
//! terminal generated (Ctrl-C) already reached the child, which shares sesame's process group, so
//! it is not sent twice. stdin is inherited: the child reads the terminal or pipe directly.

use std::io::{self, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::thread;

use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
use signal_hook::iterator::SignalsInfo;
use signal_hook::iterator::exfiltrator::WithOrigin;
use signal_hook::low_level::siginfo::Cause;

use crate::error::{Error, Result};
use crate::inject::{exit_code, start_error};
use crate::mask::{Masker, pump};
use crate::secret::SecretValue;

/// Spawns `command` with its stdout and stderr masked; returns the exit code to exit with.
pub fn run_masked(mut command: Command, values: &[&SecretValue]) -> Result<u8> {
    let child_pid = Arc::new(AtomicI32::new(0));
    let mut signals = SignalsInfo::<WithOrigin>::new([SIGINT, SIGTERM, SIGHUP, SIGQUIT])
        .map_err(|e| Error::io("cannot install signal handlers", e))?;
    let signal_handle = signals.handle();
    {
        let child_pid = Arc::clone(&child_pid);
        thread::spawn(move || {
            for origin in signals.forever() {
                if matches!(origin.cause, Cause::Kernel) {
                    continue; // from the terminal: the child got it too
                }
                let pid = child_pid.load(Ordering::SeqCst);
                if let (Some(pid), Some(signal)) = (
                    rustix::process::Pid::from_raw(pid),
                    rustix::process::Signal::from_named_raw(origin.signal),
                ) {
                    let _ = rustix::process::kill_process(pid, signal);
                }
            }
        });
    }

    let program = command.get_program().to_os_string();
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn().map_err(|e| start_error(&program, e))?;
    drop(command); // closes sesame's copies of in-memory files and the environment
    child_pid.store(
        rustix::process::Pid::from_child(&child)
            .as_raw_nonzero()
            .get(),
        Ordering::SeqCst,
    );

    let mut pumps = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        let masker =
            Masker::new(values.iter().copied()).map_err(|e| Error::io("cannot mask", e))?;
        pumps.push(thread::spawn(move || forward(stdout, io::stdout(), masker)));
    }
    if let Some(stderr) = child.stderr.take() {
        let masker =
            Masker::new(values.iter().copied()).map_err(|e| Error::io("cannot mask", e))?;
        pumps.push(thread::spawn(move || forward(stderr, io::stderr(), masker)));
    }
    let status = child
        .wait()
        .map_err(|e| Error::io("cannot wait for the command", e))?;
    for p in pumps {
        let _ = p.join();
    }
    signal_handle.close();
    Ok(exit_code(status))
}

fn forward(input: impl io::Read, out: impl Write, masker: Option<Masker>) -> io::Result<()> {
    let mut out = out;
    match masker {
        Some(mut m) => pump(input, &mut out, &mut m),
        None => {
            let mut input = input;
            io::copy(&mut input, &mut out).map(|_| ())
        }
    }
}
