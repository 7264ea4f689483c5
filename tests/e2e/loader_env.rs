//! Variables that make programs load or run code (`LD_AUDIT`, `BASH_ENV`, `PATH`, ...): a file or a
//! shared KV path never stores a secret under one, and `run --all`/`--profile` never set one,
//! unless the user says `--allow-loader-env` on the command line.

use super::harness::*;

/// `import --dotenv` of a file someone else wrote: `BASH_ENV=…` made `run --all -- bash` run a
/// script, `LD_AUDIT` reached ld.so. Such lines are skipped, each named with its file and line;
/// the rest of the file is imported.
#[test]
fn import_skips_variables_that_load_or_run_code() {
    let sb = Sandbox::new();
    let env = sb.write_file(
        "team.env",
        "API_KEY=sk-ordinary-value-0001\nBASH_ENV=/tmp/evil.sh\nLD_AUDIT=/tmp/evil.so\n\
         PATH=/tmp/evil:/usr/bin\nGIT_SSH_COMMAND=touch /tmp/owned\n",
    );
    let a = sb.import(&env).success();
    let err = stderr(&a);
    for (line, name) in [
        (2, "BASH_ENV"),
        (3, "LD_AUDIT"),
        (4, "PATH"),
        (5, "GIT_SSH_COMMAND"),
    ] {
        assert!(
            err.contains(&format!("team.env:{line}: {name} skipped")),
            "{name}: {err}"
        );
    }
    assert_has(&err, "1 added");
    assert_eq!(sb.labels(), ["api-key"]);
}

/// `add`/`edit` store such a name only when told so, and the log records that they were told.
#[test]
fn add_and_edit_store_a_loader_env_name_only_with_allow_loader_env() {
    let sb = Sandbox::new();
    sb.with_stdin(["add", "preload", "--env", "LD_PRELOAD"], "/opt/lib.so")
        .fails_with(2, "--allow-loader-env");
    // The default env name counts too: the label `bash-env` would become BASH_ENV.
    sb.with_stdin(["add", "bash-env"], "x")
        .fails_with(2, "BASH_ENV makes programs load or run code");
    assert!(sb.labels().is_empty());
    sb.add("token", "tok-0001");
    sb.fails_with(
        ["edit", "token", "--env", "NODE_OPTIONS"],
        2,
        "--allow-loader-env",
    );
    sb.succeeds([
        "edit",
        "token",
        "--env",
        "NODE_OPTIONS",
        "--allow-loader-env",
    ]);
    let log = sb.ok(["log", "token"]);
    assert_has(&log, "NODE_OPTIONS allowed with --allow-loader-env");
}

/// A vault that already holds such a name (from an older sesame, or allowed by hand): `run --all`
/// and `run --profile` refuse, naming the label; the command line can still give it explicitly.
#[test]
fn run_all_and_profile_refuse_a_stored_loader_env_name_and_name_the_label() {
    let sb = Sandbox::new();
    sb.add("api", "sk-api-0001");
    sb.with_stdin(
        ["add", "hook", "--env", "BASH_ENV", "--allow-loader-env"],
        "/tmp/hook.sh",
    )
    .succeeds();
    let a = sb.fails_with(
        ["run", "--all", "--", "sh", "-c", "echo ran"],
        2,
        "the secret hook has the env name BASH_ENV",
    );
    assert!(stdout(&a).is_empty(), "the command ran");
    sb.succeeds(["profile", "set", "dev", "BASH_ENV=hook", "API=api"]);
    sb.fails_with(
        ["run", "--profile", "dev", "--", "true"],
        2,
        "the profile dev binds BASH_ENV",
    );
    // Explicit on the command line: --env, or --allow-loader-env for --all.
    let a = sb.ok([
        "run",
        "--all",
        "--env",
        "BASH_ENV=api",
        "--",
        "printenv",
        "BASH_ENV",
    ]);
    assert_eq!(a, "sk-api-0001\n");
    let a = sb.ok([
        "run",
        "--all",
        "--allow-loader-env",
        "--",
        "printenv",
        "BASH_ENV",
    ]);
    assert_eq!(a, "/tmp/hook.sh\n");
}
