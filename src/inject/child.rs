//! The child `run` starts, assembled from a resolved selection in one order that matters for
//! security: start from sesame's environment or from a clean one, mark a nested run, remove
//! sesame's own secret variables and any OpenBao token, then set the env-file values, the
//! selected secrets and the `--file` paths. Each later step can only add what was selected;
//! none can bring back what an earlier one removed. The CLI prints, records and starts it.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::process::Command;

use super::{Chosen, Delivery, MemFile, check_program, clean_env, scrub_env, set_secret_env};
use crate::error::{Error, Result};
use crate::input::SECRET_ENV_VARS;
use crate::names::EnvName;
use crate::openbao::reference::BaoRef;
use crate::secret::SecretValue;
use crate::vault::Vault;

/// Set in a child's environment when sesame removed passphrase variables from it, so a `sesame
/// run` nested inside can say why it finds no passphrase. It holds no secret.
pub const NESTED_MARKER: &str = "SESAME_NESTED";

/// A masked value of at most this many bytes (`true`, `dev`, `1`) is likely to occur by chance in
/// ordinary output, inside other words: masking it breaks the output and protects little.
pub const SHORT_MASKED_VALUE: usize = 4;

/// How the child is run.
#[derive(Clone, Copy, Default)]
pub struct ChildOptions {
    /// `--mask`: sesame stays as the parent and conceals the values in the child's output.
    pub mask: bool,
    /// `--clean-env`: the child starts from `PATH HOME USER LANG TERM` and what was selected.
    pub clean_env: bool,
}

/// The child, ready to start, and what the CLI says and records about it.
pub struct Child<'v> {
    /// The command to spawn, its environment already set.
    pub command: Command,
    /// Each variable holding a value: its name, where the value came from (a label or a
    /// `bao://` reference) and the value; for the message when the system refuses the size.
    pub in_env: Vec<(EnvName, String, &'v SecretValue)>,
    /// The in-memory files of `--file`; they must live until the child has started.
    pub files: Vec<(EnvName, MemFile)>,
    /// The values `--mask` conceals.
    pub masked: Vec<&'v SecretValue>,
    /// Short values left unmasked (`--all` alone chose them), one line each.
    pub notes: Vec<String>,
    /// Short values masked anyway (named explicitly), one line each.
    pub warnings: Vec<String>,
    /// What the usage log records: labels and references, never values.
    pub logged: Vec<String>,
}

/// Assembles the child for `argv` (program and arguments) from `chosen`, with secrets' values
/// from `vault` and references' values from `fetched`. Fails when a value cannot be delivered
/// (a NUL byte or too large for an environment variable) or the program cannot be started.
pub fn assemble<'v>(
    argv: &[OsString],
    chosen: &Chosen,
    vault: &'v Vault,
    fetched: &'v BTreeMap<BaoRef, SecretValue>,
    options: ChildOptions,
) -> Result<Child<'v>> {
    let program = argv
        .first()
        .ok_or_else(|| Error::usage("no command to run"))?
        .clone();
    let mut in_env = Vec::new();
    let mut files = Vec::new();
    let mut values: Vec<(&EnvName, &'v SecretValue)> = Vec::new();
    for (name, (label, delivery)) in &chosen.secrets {
        let value = vault.get(label)?.current.plain(label)?;
        match delivery {
            Delivery::Env => in_env.push((name.clone(), label.to_string(), value)),
            Delivery::File => files.push((name.clone(), MemFile::new(name, value)?)),
        }
        values.push((name, value));
    }
    for (name, reference) in &chosen.references {
        if let Some(value) = fetched.get(reference) {
            in_env.push((name.clone(), reference.to_string(), value));
            values.push((name, value));
        }
    }
    for (name, template) in &chosen.templates {
        // The rendered text lives in the sealed memfd only; this copy is wiped when dropped.
        let rendered = SecretValue::new(template.render(vault, fetched)?);
        files.push((name.clone(), MemFile::new(name, &rendered)?));
        values.extend(
            template
                .values(vault, fetched)
                .into_iter()
                .map(|v| (name, v)),
        );
    }

    let mut command = if options.mask && !files.is_empty() {
        // The child is a new process, so its PID is not known here: a shell sets the paths
        // from its own PID (`$$`) and `exec`s the command, which keeps that PID.
        file_path_shell(argv, &files)
    } else {
        let mut command = Command::new(&program);
        command.args(&argv[1..]);
        command
    };
    // 1. Where the environment starts. Before anything is set: `env_clear` also clears what
    //    was set before it (a `--file` path set earlier was lost under `--clean-env`).
    if options.clean_env {
        clean_env(&mut command);
    }
    // 2. A nested `sesame run` says why it finds no passphrase.
    if SECRET_ENV_VARS
        .iter()
        .any(|v| std::env::var_os(v).is_some())
    {
        command.env(NESTED_MARKER, "1");
    }
    // 3. sesame's own secrets and any OpenBao token never reach the child...
    scrub_env(&mut command);
    // 4. ...unless selected: plain env-file values, then secrets and references, then paths.
    for (name, value) in &chosen.plain {
        command.env(name.as_str(), value.as_str());
    }
    for (name, origin, value) in &in_env {
        set_secret_env(&mut command, name, origin, value)?;
    }
    if !options.mask {
        // `exec` keeps sesame's PID, so the child holds descriptor K under this PID.
        for (name, file) in &files {
            command.env(name.as_str(), file.path_in(std::process::id()));
        }
    }
    // The child's PATH, as `execvp` will search it.
    let path = command
        .get_envs()
        .find(|(k, _)| *k == "PATH")
        .map(|(_, v)| v.map(OsString::from))
        .unwrap_or_else(|| std::env::var_os("PATH"));
    check_program(&program, path.as_deref())?;

    let mut notes = Vec::new();
    let mut warnings = Vec::new();
    if options.mask {
        // Chosen by --all alone, a short value is left unmasked (with a note); named by any
        // other form, it is masked with a warning.
        values.retain(|(name, value)| {
            if value.len() > SHORT_MASKED_VALUE {
                return true;
            }
            let bytes = format!(
                "{} byte{}",
                value.len(),
                if value.len() == 1 { "" } else { "s" }
            );
            if chosen.only_all.contains(*name) {
                notes.push(format!(
                    "{name} ({bytes}) is not masked: --all leaves out values this short, which \
                     would be replaced inside ordinary words; name it with --env {name}=LABEL to \
                     mask it anyway"
                ));
                return false;
            }
            warnings.push(format!(
                "the value of {name} is only {bytes} long; masking replaces it wherever those \
                 characters appear in the output, inside other words too"
            ));
            true
        });
    }
    // References are logged as written (`bao://MOUNT/PATH#FIELD`), never with their value.
    let mut logged: Vec<String> = chosen
        .secrets
        .values()
        .map(|(l, _)| l.to_string())
        .collect();
    logged.extend(chosen.references.values().map(BaoRef::to_string));
    logged.extend(chosen.templates.iter().flat_map(|(_, t)| t.logged()));
    logged.sort();
    logged.dedup();
    Ok(Child {
        command,
        in_env,
        files,
        masked: values.into_iter().map(|(_, v)| v).collect(),
        notes,
        warnings,
        logged,
    })
}

/// `sh -c 'export NAME=/proc/$$/fd/K …; exec "$@"' sesame CMD ARGS…`: each `--file` variable
/// names the descriptor in the process that becomes the command (the shell's PID, kept by exec).
fn file_path_shell(cmd: &[OsString], files: &[(EnvName, MemFile)]) -> Command {
    let mut script = String::new();
    for (name, file) in files {
        // Names are `[A-Za-z_][A-Za-z0-9_]*` and K is a number: nothing here needs quoting.
        script.push_str(&format!("export {name}=/proc/$$/fd/{}; ", file.fd()));
    }
    script.push_str("exec \"$@\"");
    let mut sh = Command::new("/bin/sh");
    sh.arg("-c").arg(script).arg("sesame").args(cmd);
    sh
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::ffi::OsStr;

    use zeroize::Zeroizing;

    use super::*;
    use crate::names::Label;
    use crate::vault::Secret;

    fn value(text: &str) -> SecretValue {
        SecretValue::new(Zeroizing::new(text.as_bytes().to_vec()))
    }

    /// The child's environment as the command will pass it: `None` for a removed variable.
    fn envs(command: &Command) -> BTreeMap<String, Option<String>> {
        command
            .get_envs()
            .map(|(k, v)| {
                let text = |s: &OsStr| s.to_string_lossy().into_owned();
                (text(k), v.map(text))
            })
            .collect()
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_clean_environment_keeps_every_selected_value_and_file_path() {
        let label = Label::parse("api").unwrap();
        let env = EnvName::parse("API_KEY").unwrap();
        let file = EnvName::parse("API_FILE").unwrap();
        let mut vault = Vault::default();
        vault
            .insert(Secret::first(
                label.clone(),
                env.clone(),
                value("sk-0001"),
                0,
            ))
            .unwrap();
        let mut chosen = Chosen {
            secrets: BTreeMap::new(),
            references: BTreeMap::new(),
            plain: BTreeMap::new(),
            only_all: Default::default(),
            templates: Vec::new(),
        };
        chosen
            .secrets
            .insert(env.clone(), (label.clone(), Delivery::Env));
        chosen.secrets.insert(file.clone(), (label, Delivery::File));
        let plain = EnvName::parse("LOG_LEVEL").unwrap();
        chosen
            .plain
            .insert(plain, Zeroizing::new("debug".to_string()));
        let fetched = BTreeMap::new();
        for clean_env in [false, true] {
            let options = ChildOptions {
                mask: false,
                clean_env,
            };
            let child = assemble(&["true".into()], &chosen, &vault, &fetched, options).unwrap();
            let envs = envs(&child.command);
            assert_eq!(envs["API_KEY"].as_deref(), Some("sk-0001"));
            assert_eq!(envs["LOG_LEVEL"].as_deref(), Some("debug"));
            let path = envs["API_FILE"].clone().unwrap();
            assert!(path.starts_with("/proc/"), "{path}");
            // Scrubbed after the start: removed from an inherited environment, never set in a
            // clean one.
            for secret_var in SECRET_ENV_VARS {
                let set = envs.get(*secret_var);
                if clean_env {
                    assert!(set.is_none_or(Option::is_none), "{secret_var}");
                } else {
                    assert_eq!(set, Some(&None), "{secret_var}");
                }
            }
            assert_eq!(child.logged, ["api"]);
        }
    }
}
