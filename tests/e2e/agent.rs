//! The agent: unlock once, then no passphrase; timeouts (a plain `unlock` keeps the agent's own),
//! lock, stale sockets, concurrency, hostile clients.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use super::harness::*;

fn unlocked(timeout: &str) -> Sandbox {
    let sb = Sandbox::new();
    sb.add("api/key", "sk-agent-0123456789");
    sb.succeeds(["unlock", "--timeout", timeout]);
    sb
}

/// A command with no passphrase source at all: only the agent can open the vault.
fn no_pass(sb: &Sandbox) -> assert_cmd::Command {
    let mut cmd = sb.cmd();
    cmd.env_remove("SESAME_PASSPHRASE");
    cmd
}

fn status(sb: &Sandbox) -> serde_json::Value {
    let a = no_pass(sb).args(["status", "--json"]).succeeds();
    serde_json::from_slice(&a.get_output().stdout).unwrap()
}

fn agent_pid(sb: &Sandbox) -> u32 {
    status(sb)["agent_pid"].as_u64().expect("an agent") as u32
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn after_unlock_commands_need_no_passphrase_and_writes_go_through_the_agent() {
    let sb = unlocked("5m");
    no_pass(&sb)
        .args(["get", "api/key"])
        .succeeds()
        .stdout("sk-agent-0123456789\n");
    no_pass(&sb)
        .args(["add", "second"])
        .write_stdin("two")
        .succeeds();
    no_pass(&sb)
        .args(["rotate", "second"])
        .write_stdin("three")
        .succeeds();
    no_pass(&sb)
        .args([
            "run",
            "--env",
            "K=second",
            "--",
            "sh",
            "-c",
            "printf %s \"$K\"",
        ])
        .succeeds()
        .stdout("three");
    // The file written through the agent opens with the passphrase as usual.
    assert_eq!(sb.get("second"), "three\n");
    let s = status(&sb);
    assert_eq!(s["unlocked"], true);
    assert_eq!(s["secrets"], 2);
    assert!(s["seconds_left"].as_u64().unwrap() > 200);
    assert_eq!(s["kdf"]["memory_kib"], 8192);
}

#[test]
fn a_wrong_passphrase_starts_no_agent() {
    let sb = Sandbox::new();
    sb.with_pass("wrong")
        .args(["unlock"])
        .fails_with(3, "wrong passphrase");
    assert_eq!(status(&sb)["unlocked"], false);
}

#[test]
fn the_agent_ends_when_its_timeout_passes_and_status_does_not_extend_it() {
    let sb = unlocked("2s");
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(2600) {
        status(&sb); // must not renew
        std::thread::sleep(Duration::from_millis(200));
    }
    wait_until("the agent to end", || status(&sb)["unlocked"] == false);
    no_pass(&sb)
        .args(["get", "api/key"])
        .fails_with(2, "no passphrase source");
    assert!(
        !sb.runtime_dir()
            .join("sesame")
            .read_dir()
            .unwrap()
            .any(|_| true),
        "socket removed"
    );
}

#[test]
fn unlock_again_renews_the_timeout_without_a_passphrase() {
    let sb = unlocked("4s");
    let pid = agent_pid(&sb);
    let a = no_pass(&sb).args(["unlock", "--timeout", "1m"]).succeeds();
    assert!(stderr(&a).contains("stays unlocked"));
    std::thread::sleep(Duration::from_millis(4500));
    assert_eq!(agent_pid(&sb), pid, "the same agent, still running");
    no_pass(&sb).args(["get", "api/key"]).succeeds();
}

#[test]
fn lock_stops_this_vaults_agent_and_lock_all_stops_every_agent() {
    let sb = unlocked("5m");
    sb.succeeds(["lock"]);
    assert_eq!(status(&sb)["unlocked"], false);
    no_pass(&sb)
        .args(["get", "api/key"])
        .fails_with(2, "no passphrase source");

    // Two vaults, two agents, one `lock --all`.
    sb.succeeds(["unlock"]);
    let other = sb.path("other.sesame");
    sb.cmd()
        .arg("--vault")
        .arg(&other)
        .args(FAST_KDF)
        .arg("--no-recovery")
        .succeeds();
    sb.cmd().arg("--vault").arg(&other).arg("unlock").succeeds();
    let a = sb.succeeds(["lock", "--all"]);
    assert_has(&stderr(&a), "Locked 2 agents");
    assert_eq!(status(&sb)["unlocked"], false);
}

#[test]
fn lock_stops_an_agent_whose_socket_folder_changed_mode_and_says_what_is_wrong() {
    // After `chmod 755` of the socket folder, `lock` said "was not unlocked" and `lock --all`
    // "Locked 0 agents" while the agent ran on, holding the key.
    use std::os::unix::fs::PermissionsExt;
    let sb = unlocked("5m");
    let folder = sb.runtime_dir().join("sesame");
    let pid = agent_pid(&sb);
    let chmod = |mode| std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(mode));
    chmod(0o755).unwrap();
    let a = sb.succeeds(["lock"]);
    let err = stderr(&a);
    assert_has(&err, "Locked ");
    assert!(
        err.contains("the agents' folder cannot be used") && err.contains("mode 0700"),
        "{err}"
    );
    let alive = || std::path::Path::new(&format!("/proc/{pid}")).exists();
    wait_until("the agent to end", || !alive());

    chmod(0o700).unwrap();
    sb.succeeds(["unlock"]);
    chmod(0o750).unwrap();
    let a = sb.succeeds(["lock", "--all"]);
    assert_has(&stderr(&a), "Locked 1 agent.");
    chmod(0o700).unwrap();
    assert_eq!(status(&sb)["unlocked"], false);
}

#[test]
fn a_stale_socket_of_a_killed_agent_is_detected_and_replaced() {
    let sb = unlocked("5m");
    let pid = agent_pid(&sb);
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(pid as i32).unwrap(),
        rustix::process::Signal::KILL,
    )
    .unwrap();
    wait_until("the agent to die", || {
        !std::path::Path::new(&format!("/proc/{pid}")).exists()
    });
    assert!(
        sb.agent_socket().exists(),
        "kill -9 leaves the socket behind"
    );
    // Clients fall back to the passphrase sources...
    no_pass(&sb)
        .args(["get", "api/key"])
        .fails_with(2, "no passphrase source");
    sb.succeeds(["get", "api/key"]);
    // ...and the next unlock replaces the stale socket.
    sb.succeeds(["unlock"]);
    no_pass(&sb).args(["get", "api/key"]).succeeds();
}

#[test]
fn eight_clients_at_once() {
    let sb = unlocked("5m");
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let sb = &sb;
                scope.spawn(move || {
                    for _ in 0..5 {
                        no_pass(sb)
                            .args(["get", "api/key"])
                            .succeeds()
                            .stdout("sk-agent-0123456789\n");
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    });
}

#[test]
fn malformed_requests_close_only_their_own_connection() {
    let sb = unlocked("5m");
    let sock = sb.agent_socket();
    let garbage: [&[u8]; 4] = [
        &[0xFF, 0xFF, 0xFF, 0xFF], // oversized frame
        &[0, 0, 0, 0],             // empty frame
        &[3, 0, 0, 0, 9, 9, 9],    // unknown operation
        &[2, 0, 0, 0, 2, 1],       // derive, truncated
    ];
    for bytes in garbage {
        let mut s = UnixStream::connect(&sock).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(bytes).unwrap();
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest); // the agent hangs up
    }
    // A client that connects and says nothing does not block others.
    let _silent = UnixStream::connect(&sock).unwrap();
    no_pass(&sb)
        .args(["get", "api/key"])
        .succeeds()
        .stdout("sk-agent-0123456789\n");
}

#[test]
fn the_agent_holds_no_passphrase_in_its_environment_or_command_line() {
    let sb = unlocked("5m");
    let pid = agent_pid(&sb);
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    assert!(String::from_utf8_lossy(&cmdline).contains("__agent"));
    assert!(!cmdline.windows(PASS.len()).any(|w| w == PASS.as_bytes()));
    match std::fs::read(format!("/proc/{pid}/environ")) {
        Ok(environ) => {
            assert!(!environ.windows(PASS.len()).any(|w| w == PASS.as_bytes()));
            assert!(!String::from_utf8_lossy(&environ).contains("SESAME_PASSPHRASE"));
        }
        // Not dumpable: only root may read it, which is itself the protection.
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied),
    }
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let locked_kb = status
        .lines()
        .find(|l| l.starts_with("VmLck:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse::<u64>().ok());
    if let Some(kb) = locked_kb {
        assert!(kb > 0, "the key's page is locked in RAM");
    }
}

#[test]
fn a_client_under_another_uid_is_refused() {
    if !rustix::process::getuid().is_root() {
        eprintln!("skipped: needs root to run a client as another user (setpriv)");
        return;
    }
    let have = |tool: &str| {
        command("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    // The system Python, not a per-user install the other user could not execute.
    let python = ["/usr/bin/python3", "/usr/local/bin/python3"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    let (true, Some(python)) = (have("setpriv"), python) else {
        eprintln!("skipped: setpriv or a system python3 missing");
        return;
    };
    let sb = unlocked("5m");
    let sock = sb.agent_socket();
    // Open the way for the other user: only the peer-credential check is left to stop it.
    use std::os::unix::fs::PermissionsExt;
    for dir in [
        sb.dir.path().to_path_buf(),
        sb.runtime_dir(),
        sb.runtime_dir().join("sesame"),
    ] {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o711)).unwrap();
    }
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o666)).unwrap();
    let script = format!(
        "import socket,struct\n\
         s=socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect({sock:?})\n\
         try: s.sendall(struct.pack('<I',1)+bytes([1]))\n\
         except OSError: pass  # the agent may already have hung up after refusing\n\
         n=struct.unpack('<I',s.recv(4))[0]; b=s.recv(n)\n\
         print(b[0], b[3:].decode())",
        sock = sock.display().to_string()
    );
    let out = command("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
            python,
            "-c",
            &script,
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("1 ") && text.contains("only its own user"),
        "stdout: {text} stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The agent goes on serving its own user (once the folder is private again: clients refuse
    // to use a folder others can enter).
    std::fs::set_permissions(
        sb.runtime_dir().join("sesame"),
        std::fs::Permissions::from_mode(0o700),
    )
    .unwrap();
    no_pass(&sb).args(["get", "api/key"]).succeeds();
}

#[test]
fn passphrase_fd_wins_over_the_agent() {
    let sb = unlocked("5m");
    no_pass(&sb)
        .args(["get", "api/key", "--passphrase-fd", "0"])
        .write_stdin("wrong\n")
        .fails_with(3, "wrong passphrase");
}

#[test]
fn after_rekey_the_old_agent_is_stopped() {
    let sb = unlocked("5m");
    let a = sb.succeeds(["rekey", "--no-recovery"]);
    assert_has(&stderr(&a), "was stopped");
    no_pass(&sb)
        .args(["get", "api/key"])
        .fails_with(2, "no passphrase source");
    sb.succeeds(["unlock"]);
    no_pass(&sb).args(["get", "api/key"]).succeeds();
}

#[test]
fn an_agent_for_an_older_key_generation_is_refused_and_clients_fall_back() {
    let sb = unlocked("5m");
    // Rekey behind the agent's back (as a restore of another copy would): swap the file.
    let before = sb.vault_bytes();
    let copy = sb.write_file("copy.sesame", &before);
    sb.succeeds_on(&copy, ["rekey", "--no-recovery"]);
    std::fs::copy(&copy, &sb.vault).unwrap();
    no_pass(&sb)
        .args(["get", "api/key"])
        .fails_with(2, "no passphrase source");
    sb.succeeds(["get", "api/key"]);
}

#[test]
fn the_agent_ends_when_its_vault_disappears_or_on_sigterm() {
    let sb = unlocked("5m");
    let sock = sb.agent_socket();
    std::fs::rename(&sb.vault, sb.path("moved.sesame")).unwrap();
    wait_until("the agent to notice", || !sock.exists());

    let sb = unlocked("5m");
    let pid = agent_pid(&sb);
    let sock = sb.agent_socket();
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(pid as i32).unwrap(),
        rustix::process::Signal::TERM,
    )
    .unwrap();
    wait_until("the agent to end", || !sock.exists());
}

#[test]
fn the_socket_folder_must_be_private() {
    let sb = Sandbox::new();
    let folder = sb.runtime_dir().join("sesame");
    std::fs::create_dir_all(&folder).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o777)).unwrap();
    sb.fails_with(["unlock"], 2, "mode 0700");
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o700)).unwrap();
    sb.succeeds(["unlock"]);
    assert_eq!(mode(&sb.agent_socket()), 0o600);
}

#[test]
fn passwd_skips_the_agent_and_needs_the_current_passphrase() {
    let sb = unlocked("5m");
    no_pass(&sb)
        .env("SESAME_NEW_PASSPHRASE", "new phrase lima")
        .arg("passwd")
        .fails_with(2, "no passphrase source");
    sb.cmd()
        .env("SESAME_NEW_PASSPHRASE", "new phrase lima")
        .arg("passwd")
        .succeeds();
    // The agent's key is unchanged by passwd, so it goes on serving.
    no_pass(&sb).args(["get", "api/key"]).succeeds();
}

#[test]
fn the_agent_holds_its_data_key_once_in_memory() {
    // Broke: the hand-off was read through std's buffered stdin, which left a second, unlocked
    // (swappable) and never-wiped copy of the data key in its 8 KiB heap buffer.
    let sb = unlocked("5m");
    let pid = agent_pid(&sb);
    let key = sb.data_key_hex();
    // The passphrase never reaches the agent, and it never opens the payload.
    let needles = [
        ("key", key.as_str()),
        ("passphrase", &hex(PASS.as_bytes())),
        ("value", &hex(b"sk-agent-0123456789")),
    ];
    let Some(report) = scan_memory(pid, &needles) else {
        return;
    };
    assert_eq!(
        report, "key copies=1\npassphrase copies=0\nvalue copies=0",
        "the agent's memory holds: {report}"
    );
    // Serving subkeys (HKDF of the key) leaves no copy behind either.
    no_pass(&sb).args(["get", "api/key"]).succeeds();
    let report = scan_memory(pid, &needles).unwrap();
    assert_eq!(
        report, "key copies=1\npassphrase copies=0\nvalue copies=0",
        "after a derive: {report}"
    );
}

#[test]
fn one_process_cannot_hold_every_agent_connection() {
    // Broke: 64 connections from one process, each kept alive by a byte every few seconds, left
    // no room for anyone else. Now one process may hold at most 8 at once.
    let sb = unlocked("5m");
    let sock = sb.agent_socket();
    let held: Vec<UnixStream> = (0..8)
        .map(|_| UnixStream::connect(&sock).unwrap())
        .collect();
    // The ninth from this process is hung up on without an answer.
    let mut ninth = UnixStream::connect(&sock).unwrap();
    ninth
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let _ = ninth.write_all(&[1, 0, 0, 0, 1]); // status
    let mut answer = Vec::new();
    let _ = ninth.read_to_end(&mut answer);
    assert!(answer.is_empty(), "the ninth connection was served");
    // Other processes are still served.
    no_pass(&sb)
        .args(["get", "api/key"])
        .succeeds()
        .stdout("sk-agent-0123456789\n");
    drop(held);
}

/// The agent read a frame as one stream of bytes, whoever wrote them: a process could write a
/// frame's start and have another process holding the same socket write the rest. Now each piece
/// carries its writer's credentials (Linux) and a frame two processes wrote closes the connection.
#[cfg(target_os = "linux")]
#[test]
fn a_request_frame_written_by_two_processes_is_refused() {
    let sb = unlocked("5m");
    let status = |body_by_a_child: bool| {
        let mut s = UnixStream::connect(sb.agent_socket()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(&[1, 0, 0, 0]).unwrap(); // a 1-byte frame: status
        std::thread::sleep(Duration::from_millis(100)); // the agent reads the length alone
        if body_by_a_child {
            let mut child = command("sh")
                .args(["-c", "printf '\\001'"])
                .stdout(std::os::fd::OwnedFd::from(s.try_clone().unwrap()))
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            child.wait().unwrap();
        } else {
            s.write_all(&[1]).unwrap();
        }
        let mut answer = Vec::new();
        let mut head = [0u8; 4];
        if s.read_exact(&mut head).is_ok() {
            answer.extend_from_slice(&head);
        }
        answer
    };
    // Written in two pieces by one process: answered.
    assert_eq!(status(false).len(), 4);
    // The same two pieces, the second by a child on the inherited socket: hung up on, unanswered.
    assert!(status(true).is_empty(), "a frame of two writers was served");
    no_pass(&sb)
        .args(["get", "api/key"])
        .succeeds()
        .stdout("sk-agent-0123456789\n");
}

#[test]
fn a_request_trickled_one_byte_at_a_time_is_cut_off() {
    // Broke: the 10 s limit applied to each read, so a client sending one byte every few seconds
    // held its connection forever. Now a whole frame must arrive within 10 s.
    let sb = unlocked("5m");
    let mut s = UnixStream::connect(sb.agent_socket()).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    // A 4096-byte frame at 2 bytes a second would take over half an hour.
    s.write_all(&[0, 16, 0, 0]).unwrap();
    let start = Instant::now();
    loop {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the agent kept a trickling connection open"
        );
        if s.write_all(&[0]).is_err() {
            break; // hung up
        }
        let mut byte = [0u8; 1];
        if matches!(s.read(&mut byte), Ok(0)) {
            break; // hung up
        }
    }
}

#[test]
fn a_client_refuses_an_agent_socket_of_another_user() {
    // Broke: clients trusted whatever listened on the socket path; only the agent checked its
    // peer. A socket served by another uid is now treated as "no agent".
    if !rustix::process::getuid().is_root() {
        eprintln!("skipped: needs root to serve a socket as another user");
        return;
    }
    let sb = unlocked("5m");
    let sock = sb.agent_socket();
    no_pass(&sb).arg("lock").succeeds();
    // The agent removes its socket as it ends, just after answering `lock`: wait for it (a
    // loaded machine can take a moment) rather than race it.
    wait_until("the agent to remove its socket", || !sock.exists());
    // A fake agent that answers "ok" to everything, listening as uid 65534.
    let script = format!(
        "import os,socket,struct,sys\n\
         s=socket.socket(socket.AF_UNIX); s.bind({sock:?})\n\
         os.setgid(65534); os.setuid(65534); s.listen(8); s.settimeout(30)\n\
         print('listening', flush=True)\n\
         while True:\n  \
           c,_=s.accept(); c.settimeout(5)\n  \
           try:\n    \
             while True:\n      \
               h=c.recv(4)\n      \
               if len(h)<4: break\n      \
               c.recv(struct.unpack('<I',h)[0]); c.sendall(struct.pack('<I',1)+bytes([0]))\n  \
           except OSError: pass\n  \
           c.close()\n",
        sock = sock.display().to_string()
    );
    let Ok(mut fake) = command("python3")
        .args(["-c", &script])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
    else {
        eprintln!("skipped: python3 missing");
        return;
    };
    let mut line = String::new();
    let _ = std::io::BufRead::read_line(
        &mut std::io::BufReader::new(fake.stdout.take().unwrap()),
        &mut line,
    );
    assert_eq!(line.trim(), "listening");
    let a = no_pass(&sb).arg("lock").succeeds();
    let _ = fake.kill();
    let _ = fake.wait();
    assert!(
        stderr(&a).contains("was not unlocked"),
        "the client talked to another user's socket: {}",
        stderr(&a)
    );
}

#[test]
fn a_socket_folder_owned_by_another_user_is_named_in_the_error() {
    // Broke: a /tmp/sesame-<uid> created first by another user blocked `unlock` with a bare
    // "must be owned by you"; the error now says whose it is and what to do.
    if !rustix::process::getuid().is_root() {
        eprintln!("skipped: needs root to give a folder to another user");
        return;
    }
    let sb = Sandbox::new();
    let folder = sb.runtime_dir().join("sesame");
    std::fs::create_dir_all(&folder).unwrap();
    std::os::unix::fs::chown(&folder, Some(65534), Some(65534)).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o700)).unwrap();
    let a = sb.fails_with(["unlock"], 2, "belongs to uid 65534");
    assert!(stderr(&a).contains("XDG_RUNTIME_DIR"));
    std::fs::remove_dir(&folder).unwrap();
}

/// A plain `unlock` on an agent started with `--timeout 8h` cut it to the default 15 minutes.
#[test]
fn a_plain_unlock_keeps_the_agents_own_timeout() {
    let sb = Sandbox::new();
    sb.succeeds(["unlock", "--timeout", "8h"]);
    let left = || {
        let a = sb
            .cmd()
            .env_remove("SESAME_PASSPHRASE")
            .args(["status", "--json"])
            .succeeds();
        let json: serde_json::Value = serde_json::from_slice(&a.get_output().stdout).unwrap();
        json["seconds_left"].as_u64().expect("unlocked")
    };
    let a = sb
        .cmd()
        .env_remove("SESAME_PASSPHRASE")
        .arg("unlock")
        .succeeds();
    assert_has(&stderr(&a), "8h");
    assert!(left() > 7 * 3600, "renewed by 8h, not 15m");
    // An explicit --timeout still sets it.
    sb.succeeds(["unlock", "--timeout", "1h"]);
    assert!(left() <= 3600);
}
