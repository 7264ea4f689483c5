//! Approvals: confirmed secrets are released only when a person answers on the console that
//! `unlock --confirm` keeps open. Each test drives a real console on a pseudo-terminal (util-linux
//! `script`, fed through a pipe) and asks for secrets from other processes, as an AI coding agent
//! or a script would; without `script` the tests say so and pass.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::harness::*;

const SCRIPT: &str = "/usr/bin/script";

/// An approval console on a pseudo-terminal of its own: what it shows, and a way to type.
struct Console {
    child: Child,
    keys: Option<ChildStdin>,
    shown: Arc<Mutex<String>>,
}

impl Console {
    /// `sesame unlock --confirm` on a new terminal, with `env` added; `None` without `script`.
    /// Returns once the console says it is serving.
    fn start(sb: &Sandbox, env: &[(&str, &str)]) -> Option<Console> {
        if !Path::new(SCRIPT).exists() {
            eprintln!("skipped: {SCRIPT} is not installed");
            return None;
        }
        let mut cmd = sb.on_pty("exec \"$SESAME\" unlock --confirm");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("script");
        let keys = child.stdin.take();
        let mut out = child.stdout.take().expect("stdout");
        let shown = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&shown);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let text = String::from_utf8_lossy(&buf[..n]).replace("\r\n", "\n");
                sink.lock().unwrap().push_str(&text);
            }
        });
        let console = Console { child, keys, shown };
        console.wait_for("Approval console");
        Some(console)
    }

    /// Everything the terminal showed so far.
    fn shown(&self) -> String {
        self.shown.lock().unwrap().clone()
    }

    /// Waits (at most 30 s, a hang guard) until the terminal has shown `needle` `times` times.
    fn wait_for_nth(&self, needle: &str, times: usize) -> String {
        let start = Instant::now();
        loop {
            let shown = self.shown();
            if shown.matches(needle).count() >= times {
                return shown;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the console never showed {needle:?} {times} time(s); it showed:\n{shown}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn wait_for(&self, needle: &str) -> String {
        self.wait_for_nth(needle, 1)
    }

    /// Types `keys` on the console's terminal.
    fn type_keys(&mut self, keys: &str) {
        let input = self.keys.as_mut().expect("the console's input");
        input.write_all(keys.as_bytes()).expect("typing");
        input.flush().expect("typing");
    }

    /// Ctrl-C on the console; waits for it to end.
    fn interrupt(mut self) -> String {
        self.type_keys("\x03");
        self.wait_for("Approval console closed");
        drop(self.keys.take());
        let _ = self.child.wait();
        self.shown()
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_second_console_cannot_attach_to_a_running_agent() {
    let sb = Sandbox::new();
    let Some(console) = Console::start(&sb, &[]) else {
        return;
    };
    sb.fails_with(
        ["unlock", "--confirm"],
        2,
        "a console can only be joined to an agent as it starts",
    );
    // Not on a terminal either: the same answer, before anything else.
    let mut on_pty = sb.on_pty("\"$SESAME\" unlock --confirm; echo \"exit $?\"");
    on_pty.stdin(Stdio::piped());
    let out = with_deadline(on_pty);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("already running") && shown.contains("exit 2"),
        "{shown}"
    );
    let shown = console.interrupt();
    assert!(!shown.contains("is asked for"), "{shown}");
}
