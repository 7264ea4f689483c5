//! Handing secrets to child processes: through the environment only, never on a command line,
//! and never with sesame's own passphrase variables.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::process::{Command, ExitStatus};

use crate::error::{Error, Result};
use crate::input::SECRET_ENV_VARS;
use crate::names::EnvName;
use crate::secret::SecretValue;

/// Removes every variable that carries a sesame passphrase or recovery code.
pub fn scrub_env(command: &mut Command) {
    for var in SECRET_ENV_VARS {
        command.env_remove(var);
    }
}

/// Puts `value` into `command`'s environment as `name`. A NUL byte cannot be in an environment
/// variable, so such a value is refused with a message rather than truncated.
pub fn set_secret_env(command: &mut Command, name: &EnvName, value: &SecretValue) -> Result<()> {
    if value.expose().contains(&0) {
        return Err(Error::usage(format!(
            "the value for {name} contains a NUL byte, which an environment variable cannot hold"
        )));
    }
    command.env(name.as_str(), OsStr::from_bytes(value.expose()));
    Ok(())
}

/// Runs `script` with `sh -c`, inheriting the terminal, with `value` in the variable `name`.
pub fn run_with_secret(script: &str, name: &EnvName, value: &SecretValue) -> Result<ExitStatus> {
    let mut command = Command::new("sh");
    command.arg("-c").arg(script);
    scrub_env(&mut command);
    set_secret_env(&mut command, name, value)?;
    command
        .status()
        .map_err(|e| Error::io("cannot start `sh` to run the command", e))
}
