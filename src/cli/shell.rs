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
pub(super) const LABEL_COMMANDS: &[&str] = &[
    "get", "show", "rm", "edit", "rotate", "history", "rollback", "log", "push",
];

pub(super) fn completions(args: CompletionsArgs) -> Result<()> {
    let mut command = visible(&super::command());
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "sesame", &mut script);
    script.extend_from_slice(dynamic_part(args.shell).as_bytes());
    super::write_stdout(&script)
}

/// `cmd` without its hidden subcommands and flags (`__agent`, `__complete`, the fd flags where
/// they are not read): clap_complete lists everything it is given, hidden or not.
fn visible(cmd: &clap::Command) -> clap::Command {
    let mut out = clap::Command::new(cmd.get_name().to_string())
        .visible_aliases(cmd.get_visible_aliases().map(str::to_string))
        .args(cmd.get_arguments().filter(|a| !a.is_hide_set()).cloned())
        .subcommands(
            cmd.get_subcommands()
                .filter(|s| !s.is_hide_set())
                .map(visible),
        );
    if let Some(text) = cmd.get_about() {
        out = out.about(text.clone());
    }
    if let Some(text) = cmd.get_long_about() {
        out = out.long_about(text.clone());
    }
    if let Some(text) = cmd.get_after_help() {
        out = out.after_help(text.clone());
    }
    if let Some(text) = cmd.get_after_long_help() {
        out = out.after_long_help(text.clone());
    }
    if let Some(version) = cmd.get_version() {
        out = out.version(version.to_string());
    }
    out
}

/// One page: clap_mangen's overview (synopsis, global options, the command list), then a
/// COMMAND DETAILS section with every command's usage and every flag it takes, so that
/// `man sesame` answers "what was that flag" for any command.
pub(super) fn man() -> Result<()> {
    let mut root = visible(&super::command());
    root.build();
    let man = clap_mangen::Man::new(root.clone());
    let mut page = Vec::new();
    let render = |page: &mut Vec<u8>| -> std::io::Result<()> {
        man.render_title(page)?;
        man.render_name_section(page)?;
        man.render_synopsis_section(page)?;
        man.render_description_section(page)?;
        man.render_options_section(page)?;
        man.render_subcommands_section(page)?;
        page.extend_from_slice(b".SH \"COMMAND DETAILS\"\n");
        for sub in root.get_subcommands() {
            command_details(page, sub);
        }
        man.render_extra_section(page)?;
        man.render_version_section(page)
    };
    render(&mut page).map_err(|e| Error::io("cannot render the man page", e))?;
    super::write_stdout(&page)
}

/// `.SS` for one command (and its own subcommands): about, usage, then each of its arguments.
fn command_details(page: &mut Vec<u8>, cmd: &clap::Command) {
    let name = cmd.get_bin_name().unwrap_or(cmd.get_name());
    let mut text = format!(".SS \"{}\"\n", roff_escape(name));
    if let Some(about) = cmd.get_long_about().or(cmd.get_about()) {
        text.push_str(&roff_lines(&about.to_string()));
    }
    let usage = cmd.clone().render_usage().to_string();
    text.push_str(".PP\n");
    text.push_str(&roff_lines(usage.trim_start_matches("Usage: ").trim()));
    for arg in cmd.get_arguments() {
        if arg.is_hide_set() || arg.is_global_set() || arg.get_id() == "help" {
            continue;
        }
        text.push_str(".TP\n");
        let value = arg
            .get_value_names()
            .map(|names| {
                names
                    .iter()
                    .map(|n| format!("<{n}>"))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        let long = arg.get_long().map(roff_escape);
        let head = match (arg.get_short(), long) {
            (_, Some(long)) if arg.get_num_args().is_some_and(|n| n.takes_values()) => {
                format!("\\fB\\-\\-{long}\\fR \\fI{}\\fR", roff_escape(&value))
            }
            (Some(short), Some(long)) => format!("\\fB\\-{short}\\fR, \\fB\\-\\-{long}\\fR"),
            (_, Some(long)) => format!("\\fB\\-\\-{long}\\fR"),
            _ => format!("\\fI{}\\fR", roff_escape(&value)),
        };
        text.push_str(&head);
        text.push('\n');
        if let Some(help) = arg.get_long_help().or(arg.get_help()) {
            text.push_str(&roff_lines(&help.to_string()));
        }
    }
    page.extend_from_slice(text.as_bytes());
    for sub in cmd.get_subcommands() {
        command_details(page, sub);
    }
}

/// Text as roff lines: backslashes escaped, and no line starting with a control character.
fn roff_lines(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            out.push_str(".PP\n");
            continue;
        }
        let line = roff_escape(line.trim_end());
        if line.starts_with('.') || line.starts_with('\'') {
            out.push_str("\\&");
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

fn roff_escape(text: &str) -> String {
    text.replace('\\', "\\e").replace('-', "\\-")
}

/// `__complete labels|profiles`: one name per line, from the agent only; nothing on any failure
/// (no vault, locked, an agent for another key), since a completion must never ask or complain.
pub(super) fn complete(vault: Option<std::path::PathBuf>, args: CompleteArgs) -> Result<()> {
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

/// What each script adds to clap's static completion: labels after a LABEL command and after
/// `--env NAME=` / `--file NAME=`, profile names after `--profile` and `profile rm`; never file
/// names there. The `--vault` typed on the line is passed on.
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
    # Where a name is expected, a locked vault offers nothing: not file names.
    if [[ $prev == --profile ]] || [[ $sub == profile && $prev == rm ]]; then
        compopt +o default +o bashdefault 2>/dev/null
        COMPREPLY=($(compgen -W "$(_sesame_names profiles)" -- "$cur"))
        return 0
    fi
    # --env NAME=LABEL and --file NAME=LABEL: bash splits the word at `=`, so the label is the
    # word after a `=` (or the `=` itself, right after it is typed).
    local flag=""
    if ((COMP_CWORD >= 3)) && [[ $cur == = ]]; then flag=${{COMP_WORDS[COMP_CWORD-2]}}; cur=""
    elif ((COMP_CWORD >= 4)) && [[ $prev == = ]]; then flag=${{COMP_WORDS[COMP_CWORD-3]}}
    fi
    if [[ $flag == --env || $flag == --file ]]; then
        compopt +o default +o bashdefault 2>/dev/null
        COMPREPLY=($(compgen -W "$(_sesame_names labels)" -- "$cur"))
        return 0
    fi
    if [[ -n $sub && $cur != -* && $prev == "$sub" && " {commands} " == *" $sub "* ]]; then
        compopt +o default +o bashdefault 2>/dev/null
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
    if [[ ${{words[CURRENT-1]}} == (--env|--file) && ${{words[CURRENT]}} == *=* ]]; then
        compset -P '*='
        compadd -- ${{(f)"$(sesame __complete labels 2>/dev/null)"}}
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
complete -c sesame -l env -x -a "(string replace -r '=.*' '' -- (commandline -ct))=(sesame __complete labels 2>/dev/null)"
complete -c sesame -l file -x -a "(string replace -r '=.*' '' -- (commandline -ct))=(sesame __complete labels 2>/dev/null)"
"#
        ),
        // Elvish and PowerShell get clap's static completion: commands and flags.
        _ => String::new(),
    }
}
