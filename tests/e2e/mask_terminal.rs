//! `run --mask` in a person's terminal: the child on a pseudo-terminal of the same size that
//! follows resizes, job control, values split by escape sequences, and what is left after
//! `kill -9`. Each test drives a pseudo-terminal of its own (util-linux `script`, fed through a
//! pipe while the test reads what the terminal shows as it comes).

use std::io::Write;
use std::path::Path;
use std::process::ChildStdin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::harness::*;

/// What `Sandbox::on_pty` runs.
/// A shell script running on a pseudo-terminal, with `$SESAME` the binary under test and the
/// sandbox's vault and passphrase in its environment.
struct LiveTerminal {
    child: KilledOnDrop,
    input: Option<ChildStdin>,
    shown: Arc<Mutex<Vec<u8>>>,
}

impl LiveTerminal {
    /// `None` (the test then passes, saying why) without `script`.
    fn start(sb: &Sandbox, script: &str) -> Option<LiveTerminal> {
        if script_missing() {
            return None;
        }
        let (child, input, shown) = spawn_watched(sb.on_pty(&format!("sh -c '{script}'")));
        Some(LiveTerminal {
            child,
            input,
            shown,
        })
    }

    /// What the terminal has shown so far.
    fn shown(&self) -> String {
        String::from_utf8_lossy(&self.shown.lock().unwrap()).into_owned()
    }

    /// Waits (up to 20 s) until the terminal has shown `text`.
    fn wait_for(&self, text: &str) {
        wait_until_shown(|| self.shown(), text, 1, 20);
    }

    /// Types `keys`.
    fn type_keys(&mut self, keys: &[u8]) {
        let input = self.input.as_mut().expect("input");
        input.write_all(keys).expect("type");
        input.flush().expect("type");
    }

    /// Waits for the end (the test fails after 20 s) and returns everything shown.
    fn finish(mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if self.child.try_wait().expect("wait").is_some() {
                break;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("did not finish in 20 s; shown: {:?}", self.shown());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(self.input.take());
        std::thread::sleep(Duration::from_millis(100));
        self.shown()
    }
}

/// Ctrl-Z did nothing under --mask on a terminal (the child's process group was orphaned, so the
/// kernel dropped SIGTSTP; sesame did not follow a stop either). Now the child stops, sesame puts
/// the terminal back and stops with it (the shell reports the job stopped, status 148), and `fg`
/// brings both back: raw mode again, the child continued and told to redraw (SIGWINCH).
#[test]
fn ctrl_z_stops_the_masked_child_and_sesame_and_fg_resumes_both() {
    let sb = Sandbox::with_gh_token();
    // The child: says when SIGWINCH comes (a redraw), then echoes a line typed after `fg`.
    std::fs::write(
        sb.path("child.sh"),
        "trap 'echo redraw' WINCH\necho ready\nwhile [ -z \"$line\" ]; do read line; done\n\
         echo got $line $K\n",
    )
    .unwrap();
    let script = "set -m
\"$SESAME\" run --mask --env K=gh -- sh child.sh
echo sesame stopped: $?
stty -a | grep -q -- -icanon && echo terminal raw || echo terminal cooked
fg >/dev/null
echo after fg: $?";
    let Some(mut term) = LiveTerminal::start(&sb, script) else {
        return;
    };
    term.wait_for("ready");
    term.type_keys(b"\x1a");
    term.wait_for("sesame stopped: 148");
    term.wait_for("terminal cooked");
    term.wait_for("redraw");
    term.type_keys(b"hello\r");
    term.wait_for("after fg: 0");
    let shown = term.finish();
    assert_has(&shown, "got hello <concealed by sesame>");
}

/// `kill -9` cannot be caught: sesame under --mask leaves the terminal raw and on the alternate
/// screen. The README says so and gives the line that puts it back; that line, taken from the
/// README, is run here after a `kill -9` and must leave the terminal cooked and the alternate
/// screen left.
#[test]
fn after_kill_9_the_readme_line_puts_the_terminal_back() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let repair = readme
        .lines()
        .find(|l| l.starts_with("stty sane"))
        .expect("the README's repair line");
    let sb = Sandbox::with_gh_token();
    std::fs::write(
        sb.path("alternate.sh"),
        "printf '\\033[?1049h'; echo on-the-alternate-screen; sleep 30\n",
    )
    .unwrap();
    let script = format!(
        "\"$SESAME\" run --mask --env K=gh -- sh alternate.sh </dev/tty &
sleep 1
kill -9 $!
sleep 0.2
stty -a | grep -q -- -icanon && echo left raw
{repair}
stty -a | grep -q -- -icanon || echo cooked again"
    );
    let Some(term) = LiveTerminal::start(&sb, &script) else {
        return;
    };
    term.wait_for("on-the-alternate-screen");
    let shown = term.finish();
    assert_has(&shown, "left raw");
    let repaired = &shown[shown.find("left raw").unwrap()..];
    assert_has(repaired, "\x1b[?1049l");
    assert_has(repaired, "cooked again");
}

/// A value split by escape sequences reached the screen whole: `grep --color` highlighting part
/// of it, a program printing a colour change in its middle. On a terminal the match is on what
/// the terminal shows, and the whole span is concealed (its colours replayed after the mark). A
/// redraw by cursor movement stays possible, as documented.
#[test]
fn a_value_split_by_colour_sequences_is_concealed_on_a_terminal() {
    let sb = Sandbox::with_gh_token();
    std::fs::write(sb.path("notes.txt"), "the key is ghp_token_abc here\n").unwrap();
    std::fs::write(
        sb.path("show.sh"),
        "grep --color=always tok notes.txt\n\
         printf 'ghp_tok\\033[32men_abc\\033[0m\\n'\n\
         printf 'ghp_tok\\rXXXX\\033[7Cen_abc\\n'\n",
    )
    .unwrap();
    let Some(term) = LiveTerminal::start(&sb, "\"$SESAME\" run --mask --env K=gh -- sh show.sh")
    else {
        return;
    };
    let shown = term.finish();
    assert_has(
        &shown,
        "the key is <concealed by sesame>\x1b[01;31m\x1b[m here",
    );
    assert_has(&shown, "\n<concealed by sesame>\x1b[32m\x1b[0m\r\n");
    // Not concealed: the pieces are apart in the output (a carriage return between them).
    assert_has(&shown, "ghp_tok\rXXXX\x1b[7Cen_abc");
    assert_lacks(&shown, "ghp_\x1b[01;31m");
}

/// With --mask the child got pipes, so programs lost colour, columns, paging and prompts.
/// On a terminal it now runs on a pseudo-terminal of its own, of the same size, and ours is put
/// back as it was, also when the child dies of a signal.
#[test]
fn masked_child_runs_on_a_terminal_of_the_same_size_and_ours_is_restored() {
    let sb = Sandbox::with_gh_token();
    let shown = sb.shown_on_pty(
        "stty rows 40 cols 100; before=$(stty -g); \
         \"$SESAME\" run --mask --env K=gh -- python3 -c \"import os, sys; \
         print(sys.stdin.isatty(), sys.stdout.isatty(), sys.stderr.isatty(), \
         os.get_terminal_size(), os.environ['K'])\"; \
         [ \"$before\" = \"$(stty -g)\" ] && echo restored; \
         \"$SESAME\" run --mask --env K=gh -- sh -c 'kill -TERM $$'; echo status $?; \
         [ \"$before\" = \"$(stty -g)\" ] && echo restored after a signal",
    );
    assert!(
        shown.contains(
            "True True True os.terminal_size(columns=100, lines=40) <concealed by sesame>\n"
        ),
        "{shown}"
    );
    assert_has(&shown, "restored\n");
    assert_has(&shown, "status 143\n");
    assert_has(&shown, "restored after a signal\n");
    // `ls` lays out columns only on a terminal.
    let shown = sb.shown_on_pty(
        "stty cols 200; mkdir d; touch d/alpha d/beta d/gamma; \
         \"$SESAME\" run --mask --env K=gh -- ls d",
    );
    assert_has(&shown, "alpha  beta  gamma");
}

/// A size change of sesame's terminal reaches the child (SIGWINCH, new size).
#[test]
fn a_resize_of_our_terminal_reaches_the_masked_child() {
    let sb = Sandbox::with_gh_token();
    // sesame runs in the background (stdin /dev/null, so no input to pass on); the shell
    // resizes the terminal once the child is ready, and the child prints the size it gets.
    let shown = sb.shown_on_pty("stty rows 24 cols 80; \
         \"$SESAME\" run --mask --env K=gh -- python3 -c \"import os, signal, sys, time\n\
         signal.signal(signal.SIGWINCH, lambda *a: (print('resized', os.get_terminal_size()), sys.exit(0)))\n\
         open('ready', 'w').close()\n\
         time.sleep(20)\" & \
         while [ ! -e ready ]; do sleep 0.05; done; stty cols 120; wait",
    );
    assert_has(&shown, "resized os.terminal_size(columns=120, lines=24)");
}
