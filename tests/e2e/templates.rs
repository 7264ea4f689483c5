//! `inject` and `run --template`: config files rendered from `{{ sesame://LABEL }}` references,
//! to stdout, to a 0600 file written atomically, or into an in-memory file for a child; nothing
//! written when a reference is unknown.

use std::os::unix::fs::symlink;

use super::harness::*;

fn sandbox() -> Sandbox {
    Sandbox::with_secrets(&[("npm/token", "npm_s3cr3t"), ("db", "pg-pass-0123")])
}

#[test]
fn inject_replaces_references_and_copies_every_other_byte() {
    let sb = sandbox();
    let template = "//registry.npmjs.org/:_authToken={{ sesame://npm/token }}\n\
                    db={{sesame://db}} again={{ \tsesame://db\t }}\n\
                    helm: {{ .Values.image }} jinja: {{ name | upper }} {{ }} }}\n";
    let out = sb.with_stdin(["inject"], template).succeeds();
    assert_eq!(
        stdout(&out),
        "//registry.npmjs.org/:_authToken=npm_s3cr3t\n\
         db=pg-pass-0123 again=pg-pass-0123\n\
         helm: {{ .Values.image }} jinja: {{ name | upper }} {{ }} }}\n"
    );
    // -i reads a file; `-i -` is stdin.
    let path = sb.write_file("app.tpl", "k={{ sesame://db }}");
    let out = sb.cmd().arg("inject").arg("-i").arg(&path).succeeds();
    assert_eq!(stdout(&out), "k=pg-pass-0123");
    let out = sb
        .with_stdin(["inject", "-i", "-"], "{{ sesame://db }}")
        .succeeds();
    assert_eq!(stdout(&out), "pg-pass-0123");
}

#[test]
fn inject_with_an_unknown_reference_exits_5_and_writes_nothing() {
    let sb = sandbox();
    let out = sb.path("app.conf");
    // A new file is not created...
    let a = sb
        .with_stdin(
            ["inject", "-o"],
            "a={{ sesame://db }}\nb={{ sesame://dbb }}\n",
        )
        .arg(&out)
        .assert();
    let a = fails(a, 5, "stdin:2: no secret labelled \"dbb\"");
    assert_has(&stderr(&a), "did you mean \"db\"");
    assert!(!out.exists());
    // ...an existing one is left as it was, and nothing reaches stdout.
    std::fs::write(&out, "old").unwrap();
    let a = sb
        .with_stdin(["inject", "-o"], "{{ sesame://nope }}")
        .arg(&out)
        .assert();
    fails(a, 5, "no secret labelled \"nope\"");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "old");
    let a = sb
        .with_stdin(["inject"], "x={{ sesame://db }} {{ sesame://nope }}")
        .assert();
    let a = fails(a, 5, "nope");
    assert_eq!(stdout(&a), "");
    // No temp file was left beside it.
    let stray: Vec<_> = files_in(sb.dir.path())
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}

#[test]
fn a_reference_that_is_not_exactly_one_is_refused_with_its_line() {
    let sb = sandbox();
    for (template, needle) in [
        (
            "ok\n{{ sesame://db | base64 }}\n",
            "stdin:2: templates have no expressions or filters: only {{ sesame://db }}",
        ),
        (
            "{{ sesame://db\n}}\n",
            "stdin:1: a reference opened with {{ is not closed by }} on the same line",
        ),
        ("{{ sesame://no such }}", "stdin:1:"),
        ("{{ bao://secret/app }}", "names no field"),
    ] {
        let a = sb.with_stdin(["inject"], template).assert();
        let a = fails(a, 2, needle);
        assert_eq!(stdout(&a), "");
    }
}

#[test]
fn inject_output_is_a_0600_file_replaced_atomically_never_through_a_symlink() {
    let sb = sandbox();
    let out = sb.path("npmrc");
    // An existing file readable by others is replaced by a private one.
    std::fs::write(&out, "old").unwrap();
    sb.with_stdin(["inject", "-o"], "t={{ sesame://npm/token }}\n")
        .arg(&out)
        .succeeds()
        .stdout("");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "t=npm_s3cr3t\n");
    assert_eq!(mode(&out), 0o600);
    // A symlink at FILE is replaced by the file; its target is never written.
    let victim = sb.write_file("victim", "untouched");
    let link = sb.path("link");
    symlink(&victim, &link).unwrap();
    sb.with_stdin(["inject", "-o"], "{{ sesame://db }}")
        .arg(&link)
        .succeeds();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched");
    assert!(
        !std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read_to_string(&link).unwrap(), "pg-pass-0123");
    // A folder is refused.
    let a = sb
        .with_stdin(["inject", "-o"], "x")
        .arg(sb.dir.path())
        .assert();
    fails(a, 2, "is a folder");
}

#[test]
fn inject_is_recorded_with_its_labels_and_never_a_value() {
    let sb = sandbox();
    let out = sb.path("conf");
    sb.with_stdin(
        ["inject", "-o"],
        "{{ sesame://db }}{{ sesame://npm/token }}{{ sesame://db }}",
    )
    .arg(&out)
    .succeeds();
    let log = sb.json(["log", "--json"]);
    let event = &log[0];
    assert_eq!(event["action"], "inject");
    assert_eq!(event["labels"], serde_json::json!(["db", "npm/token"]));
    assert_has(event["detail"].as_str().unwrap(), "to ");
    assert_lacks(&log.to_string(), "pg-pass");
    // An inject counts as a use.
    assert_eq!(sb.secret_json("db")["use_count"], 1);
}

#[test]
#[cfg(target_os = "linux")]
fn run_template_gives_the_child_the_rendered_file_in_memory() {
    let sb = sandbox();
    let tpl = sb.write_file("kube.tpl", "token: {{ sesame://db }}\nkeep: {{ x }}\n");
    let a = sb
        .cmd()
        .arg("run")
        .arg("--template")
        .arg(format!("KUBECONFIG={}", tpl.display()))
        .args([
            "--",
            "sh",
            "-c",
            "echo \"$KUBECONFIG\"; cat \"$KUBECONFIG\"",
        ])
        .succeeds();
    let out = stdout(&a);
    let (path, content) = out.split_once('\n').unwrap();
    assert!(
        path.starts_with("/proc/") && path.contains("/fd/"),
        "{path}"
    );
    assert_eq!(content, "token: pg-pass-0123\nkeep: {{ x }}\n");
    // With --mask the path names the child, and the value inside is concealed in its output.
    let a = sb
        .cmd()
        .arg("run")
        .arg("--mask")
        .arg("--template")
        .arg(format!("CONF={}", tpl.display()))
        .args(["--", "sh", "-c", "cat \"$CONF\""])
        .succeeds();
    assert_eq!(stdout(&a), "token: <concealed by sesame>\nkeep: {{ x }}\n");
    // --template and --file may not name one variable.
    let a = sb
        .cmd()
        .arg("run")
        .arg("--template")
        .arg(format!("CONF={}", tpl.display()))
        .args(["--file", "CONF=db", "--", "true"])
        .assert();
    fails(a, 2, "CONF is selected twice");
}

#[test]
fn run_template_with_an_unknown_label_exits_5_and_starts_nothing() {
    let sb = sandbox();
    let tpl = sb.write_file("bad.tpl", "a\n{{ sesame://missing }}\n");
    let marker = sb.path("started");
    let a = sb
        .cmd()
        .arg("run")
        .arg("--template")
        .arg(format!("CONF={}", tpl.display()))
        .args(["--", "touch"])
        .arg(&marker)
        .assert();
    fails(a, 5, "bad.tpl:2: no secret labelled \"missing\"");
    assert!(!marker.exists());
}

#[test]
#[cfg(target_os = "linux")]
fn a_template_on_proc_is_refused_and_never_hands_over_sesames_environment() {
    // A template symlinked to /proc/self/environ rendered sesame's own environment, variables it
    // strips from children included (BAO_SECRET_ID, tokens, SESAME_PASSPHRASE).
    let sb = sandbox();
    let link = sb.path("environ.tpl");
    std::os::unix::fs::symlink("/proc/self/environ", &link).unwrap();
    let a = sb
        .cmd()
        .env("BAO_SECRET_ID", "sid-leaked-0123")
        .arg("inject")
        .arg("-i")
        .arg(&link)
        .assert();
    let a = fails(a, 2, "is on a kernel file system");
    assert_lacks(&stdout(&a), "sid-leaked-0123");
    let marker = sb.path("started");
    let a = sb
        .cmd()
        .env("BAO_SECRET_ID", "sid-leaked-0123")
        .arg("run")
        .arg("--template")
        .arg(format!("CONF={}", link.display()))
        .args(["--", "sh", "-c", "cat \"$CONF\"; touch \"$0\""])
        .arg(&marker)
        .assert();
    let a = fails(a, 2, "is on a kernel file system");
    assert_lacks(&stdout(&a), "sid-leaked-0123");
    assert!(!marker.exists());
}

#[test]
fn a_template_error_quotes_at_most_40_characters_of_the_reference() {
    let sb = sandbox();
    let pasted = format!("sesame://{}", "k".repeat(300));
    let tpl = sb.write_file("long.tpl", format!("x={{{{ {pasted} extra\n"));
    let a = sb.cmd().args(["inject", "-i"]).arg(&tpl).assert();
    let a = fails(a, 2, "is not closed by }}");
    assert_has(&stderr(&a), &format!("{}…", &pasted[..40]));
    assert_lacks(&stderr(&a), &pasted[..41]);
}

#[test]
fn inject_refuses_to_write_over_the_vault_itself() {
    let sb = sandbox();
    let before = sb.vault_bytes();
    let tpl = sb.write_file("t.tpl", "db={{ sesame://db }}\n");
    let a = sb
        .cmd()
        .args(["inject", "-i"])
        .arg(&tpl)
        .arg("-o")
        .arg(&sb.vault)
        .assert();
    fails(a, 2, "is the vault itself");
    assert_eq!(sb.vault_bytes(), before);
}
