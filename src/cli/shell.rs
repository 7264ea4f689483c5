//! `completions SHELL`, `man`, and the hidden `__complete` the completion scripts call to offer
//! labels and profile names. Those names sit inside the encrypted payload, so `__complete` reads
//! them only through a running agent: it never prompts, never reads a passphrase variable, and
//! prints nothing when the vault is locked.

use clap::{Args, ValueEnum};
use clap_complete::Shell;

use crate::agent::client::AgentKey;
use crate::container::{UnlockedVault, inspect};
use crate::error::{Error, Result};
use crate::store;

#[derive(Args)]
pub struct CompletionsArgs {
    /// The shell to write a completion script for
    shell: Shell,
}

#[derive(Args)]
pub struct CompleteArgs {
    what: Completable,
}

#[derive(Clone, Copy, ValueEnum)]
enum Completable {
    Labels,
    Profiles,
}

/// Commands whose first positional argument is a LABEL: the scripts offer labels there.
pub const LABEL_COMMANDS: &[&str] = &[
    "get", "show", "rm", "edit", "rotate", "history", "rollback", "log", "push",
];

pub fn completions(args: CompletionsArgs) -> Result<()> {
    let mut command = super::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "sesame", &mut script);
    script.extend_from_slice(dynamic_part(args.shell).as_bytes());
    super::write_stdout(&script)
}

pub fn man() -> Result<()> {
    let mut page = Vec::new();
    clap_mangen::Man::new(super::command())
        .render(&mut page)
        .map_err(|e| Error::io("cannot render the man page", e))?;
    super::write_stdout(&page)
}

/// `__complete labels|profiles`: one name per line, from the agent only; nothing on any failure
/// (no vault, locked, an agent for another key), since a completion must never ask or complain.
pub fn complete(vault: Option<std::path::PathBuf>, args: CompleteArgs) -> Result<()> {
    let names = names(vault, args.what).unwrap_or_default();
    let mut text = String::new();
    for name in names {
        text.push_str(&name);
        text.push('\n');
    }
    super::write_stdout(text.as_bytes())
}

fn names(vault: Option<std::path::PathBuf>, what: Completable) -> Option<Vec<String>> {
    let path = store::resolve_vault_path(vault).ok()?;
    let bytes = store::read(&path).ok()?;
    let header = inspect(&bytes, &path).ok()?.header;
    let agent = AgentKey::connect(&path, &header)?;
    let unlocked = UnlockedVault::open_with(&bytes, Box::new(agent), &path).ok()?;
    Some(match what {
        Completable::Labels => unlocked
            .vault
            .secrets
            .iter()
            .map(|s| s.label.to_string())
            .collect(),
        Completable::Profiles => unlocked
            .vault
            .profiles
            .iter()
            .map(|p| p.name.to_string())
            .collect(),
    })
}

/// What each script adds to clap's static completion: labels after a LABEL command, profile
/// names after `--profile` and `profile rm`. The `--vault` typed on the line is passed on.
fn dynamic_part(shell: Shell) -> String {
    let commands = LABEL_COMMANDS.join(" ");
    match shell {
        Shell::Bash => format!(
            r#"
# sesame: labels and profile names, read through a running agent only (`sesame unlock`);
# nothing is offered while the vault is locked.
_sesame_names() {{
    local vault=() i
    for ((i = 1; i < ${{#COMP_WORDS[@]}} - 1; i++)); do
        if [[ ${{COMP_WORDS[i]}} == --vault ]]; then vault=(--vault "${{COMP_WORDS[i+1]}}"); fi
    done
    sesame "${{vault[@]}}" __complete "$1" 2>/dev/null
}}
_sesame_dynamic() {{
    local cur=${{COMP_WORDS[COMP_CWORD]}} prev=${{COMP_WORDS[COMP_CWORD-1]}} sub="" i w
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${{COMP_WORDS[i]}}
        case $w in
            --vault|--passphrase-fd|--new-passphrase-fd|--recovery-code-fd) ((i++)) ;;
            -*) ;;
            *) sub=$w; break ;;
        esac
    done
    if [[ $prev == --profile ]] || [[ $sub == profile && $prev == rm ]]; then
        COMPREPLY=($(compgen -W "$(_sesame_names profiles)" -- "$cur"))
        return 0
    fi
    if [[ -n $sub && $cur != -* && $prev == "$sub" && " {commands} " == *" $sub "* ]]; then
        COMPREPLY=($(compgen -W "$(_sesame_names labels)" -- "$cur"))
        return 0
    fi
    _sesame "$@"
}}
complete -F _sesame_dynamic -o nosort -o bashdefault -o default sesame
"#
        ),
        Shell::Zsh => format!(
            r#"
# sesame: labels and profile names, read through a running agent only (`sesame unlock`);
# nothing is offered while the vault is locked.
_sesame_dynamic() {{
    local sub="" i
    for ((i = 2; i < CURRENT; i++)); do
        case ${{words[i]}} in
            --vault|--passphrase-fd|--new-passphrase-fd|--recovery-code-fd) ((i++)) ;;
            -*) ;;
            *) sub=${{words[i]}}; break ;;
        esac
    done
    if [[ ${{words[CURRENT-1]}} == --profile ]] || [[ $sub == profile && ${{words[CURRENT-1]}} == rm ]]; then
        compadd -- ${{(f)"$(sesame __complete profiles 2>/dev/null)"}}
        return
    fi
    if [[ -n $sub && ${{words[CURRENT]}} != -* && ${{words[CURRENT-1]}} == $sub && " {commands} " == *" $sub "* ]]; then
        compadd -- ${{(f)"$(sesame __complete labels 2>/dev/null)"}}
        return
    fi
    _sesame "$@"
}}
compdef _sesame_dynamic sesame
"#
        ),
        Shell::Fish => format!(
            r#"
# sesame: labels and profile names, read through a running agent only (`sesame unlock`);
# nothing is offered while the vault is locked.
complete -c sesame -n "__fish_seen_subcommand_from {commands}" -f -a "(sesame __complete labels 2>/dev/null)"
complete -c sesame -l profile -f -a "(sesame __complete profiles 2>/dev/null)"
"#
        ),
        // Elvish and PowerShell get clap's static completion: commands and flags.
        _ => String::new(),
    }
}
