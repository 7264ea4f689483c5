//! Loader variables: the environment variables that make a program load or run code, which env
//! files, inherited references, `--all` and `--profile` may not set (`docs/CLI.md`, "Loader
//! variables").

use crate::error::{Error, Result};
use crate::names::EnvName;

/// Variables that make a program load or run code (or change which program runs): an env file or
/// an inherited reference may not set them, since such a file is often someone else's (committed to
/// a repository) and a secret's value in one of them becomes a library path, a command or a shell
/// option. An explicit `--env NAME=LABEL` on the command line still may. Documented in
/// docs/SECURITY.md; keep the two in step.
const CODE_LOADING_PREFIXES: [&str; 4] = [
    "LD_",        // the dynamic loader: LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT, ...
    "DYLD_",      // macOS's loader
    "BASH_FUNC_", // bash imports these as functions
    "GIT_CONFIG", // any git setting, core.pager and core.sshCommand included
];
const CODE_LOADING_NAMES: [&str; 40] = [
    "PATH",
    "IFS",
    "ENV",
    "BASH_ENV",
    "SHELLOPTS",
    "BASHOPTS",
    "PS4",
    "PROMPT_COMMAND",
    "SHELL",
    "GCONV_PATH",
    "NODE_OPTIONS",
    "NODE_PATH",
    "PYTHONSTARTUP",
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONUSERBASE",
    "PERL5OPT",
    "PERL5LIB",
    "PERLLIB",
    "PERL5DB",
    "RUBYOPT",
    "RUBYLIB",
    "JAVA_TOOL_OPTIONS",
    "_JAVA_OPTIONS",
    "JDK_JAVA_OPTIONS",
    "CLASSPATH",
    "GIT_SSH",
    "GIT_SSH_COMMAND",
    "GIT_EXTERNAL_DIFF",
    "GIT_PAGER",
    "GIT_EDITOR",
    "GIT_ASKPASS",
    "GIT_EXEC_PATH",
    "GIT_PROXY_COMMAND",
    "GIT_TEMPLATE_DIR",
    "SSH_ASKPASS",
    "EDITOR",
    "VISUAL",
    "PAGER",
    "LESSOPEN",
];

/// True when `name` is one of the variables env files and inherited references may not set.
pub fn loads_or_runs_code(name: &str) -> bool {
    CODE_LOADING_NAMES.contains(&name) || CODE_LOADING_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Refuses `name` as the env name a secret is stored under when it makes programs load or run
/// code, unless the user said `--allow-loader-env` on the command line (`add`, `edit`): `run
/// --all` would otherwise hand the secret's value to every child under that name. `import` and
/// `pull`, whose names come from a file or a shared KV path, skip such names instead.
pub fn check_stored_env_name(name: &EnvName, allowed: bool) -> Result<()> {
    if allowed || !loads_or_runs_code(name.as_str()) {
        return Ok(());
    }
    Err(Error::usage(format!(
        "{name} makes programs load or run code (like LD_PRELOAD, PATH or BASH_ENV), so a secret \
         is not stored under it by default: `run --all` would hand its value to every command. \
         Choose another name with --env NAME, or pass --allow-loader-env if this is really meant"
    )))
}
