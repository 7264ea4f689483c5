//! `scan`: parses the flags, opens the vault, runs the searches in `crate::scan` and prints the
//! findings (place, label, version — never a value) and what to do about them.

use std::collections::BTreeSet;
use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use super::{Context, print_json, warn};
use crate::error::{Error, Result};
use crate::printable;
use crate::scan::{self, Patterns, Place, Report, WalkOptions};

/// Exit code when a stored value was found.
pub(super) const FOUND: u8 = 11;

#[derive(Args)]
#[command(
    after_help = "Searches for every version of every stored value (values of 16 bytes or more; \
                  8 or more with --short), \
                  as-is, JSON-escaped, URL-encoded and base64 (standard and URL-safe, also inside \
                  longer base64 text). In a git work tree, the files git does not ignore \
                  are searched (git lists them; tracked files always); hidden files searched, \
                  .git and symbolic links left out, binary files skipped.\n\nExit codes: 0 nothing found, 11 a stored value was found.\n\n\
                  Examples:\n  sesame scan\n  sesame scan src config --git\n  sesame scan \
                  --history --json"
)]
pub struct ScanArgs {
    /// Files or folders to search [default: .]
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Also search the history of the git repository holding each PATH (every blob reachable
    /// from any ref)
    #[arg(long)]
    git: bool,
    /// Also search the shell history files (bash, zsh, fish)
    #[arg(long)]
    history: bool,
    /// Also search binary files (files with a NUL byte)
    #[arg(long)]
    binary: bool,
    /// Also search files that .gitignore and git's excludes leave out
    #[arg(long)]
    no_ignore: bool,
    /// Also search values of 8 to 15 bytes (a search for a short value tells whoever chose the
    /// searched files whether one of their guesses is stored)
    #[arg(long)]
    short: bool,
    /// Machine-readable output
    #[arg(long)]
    json: bool,
}

pub(super) fn scan(ctx: &Context, args: ScanArgs) -> Result<u8> {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths
    };
    for path in &paths {
        // symlink_metadata: a PATH that is a dangling link is still named in the error.
        if let Err(e) = std::fs::symlink_metadata(path) {
            return Err(Error::io(format!("cannot search {}", path.display()), e));
        }
    }
    let patterns = {
        let unlocked = ctx.unlock()?;
        let min_len = if args.short {
            scan::SHORT_MIN_VALUE_LEN
        } else {
            scan::MIN_VALUE_LEN
        };
        Patterns::new(&unlocked.vault, min_len)?
        // The vault (every value) is wiped here; only the patterns live on.
    };
    note_skipped(&patterns, args.short);
    if patterns.pattern_count() == 0 {
        eprintln!(
            "sesame: no stored value is {} bytes or longer: nothing to search for.",
            if args.short {
                scan::SHORT_MIN_VALUE_LEN
            } else {
                scan::MIN_VALUE_LEN
            }
        );
        if args.json {
            print_json(&Vec::<serde_json::Value>::new())?;
        }
        return Ok(0);
    }

    let options = WalkOptions {
        binary: args.binary,
        no_ignore: args.no_ignore,
    };
    let mut report = scan::scan_paths(&patterns, &paths, options);
    if args.git {
        let mut repos = BTreeSet::new();
        for path in &paths {
            let start = if path.is_dir() {
                path.clone()
            } else {
                path.parent().map(PathBuf::from).unwrap_or_default()
            };
            let start = if start.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                start
            };
            let git_dir = scan::git_repository(&start)?;
            if repos.insert(git_dir.clone()) {
                report.merge_from(scan::scan_git(&patterns, &git_dir, args.binary)?);
            }
        }
    }
    if args.history {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let Some(home) = home else {
            return Err(Error::usage(
                "--history: HOME is not set, so the shell history files cannot be found",
            ));
        };
        let env_path = |name: &str| std::env::var_os(name).map(PathBuf::from);
        let files = scan::history_files(
            &home,
            env_path("HISTFILE").as_deref(),
            env_path("ZDOTDIR").as_deref(),
            env_path("XDG_DATA_HOME").as_deref(),
        );
        if files.is_empty() {
            eprintln!(
                "sesame: note: no shell history file found under {}.",
                printable::path(&home)
            );
        }
        report.merge_from(scan::scan_history(&patterns, &files));
    }
    report.sort(&patterns);

    for error in &report.errors {
        warn(format!("not searched: {error}"));
    }
    note_passed_over(&report.passed_over);
    for note in &report.notes {
        eprintln!("sesame: note: {}", printable::printable(note));
    }
    if args.json {
        print_json(&json_rows(&patterns, &report))?;
    } else {
        print_text(&patterns, &report)?;
    }
    summarize(&patterns, &report);
    Ok(if report.findings.is_empty() { 0 } else { FOUND })
}

fn note_skipped(patterns: &Patterns, short: bool) {
    let skipped = patterns.skipped();
    if skipped.is_empty() {
        return;
    }
    let list: Vec<String> = skipped
        .iter()
        .map(|s| format!("{} version {}", s.label, s.version))
        .collect();
    if short {
        eprintln!(
            "sesame: note: not searched, being shorter than {} bytes (they would match almost \
             anywhere): {}.",
            scan::SHORT_MIN_VALUE_LEN,
            list.join(", ")
        );
    } else {
        eprintln!(
            "sesame: note: not searched, being shorter than {} bytes: {} (--short searches \
             those of {} bytes or more; a search for a short value tells whoever chose the \
             files whether their guess is stored).",
            scan::MIN_VALUE_LEN,
            list.join(", "),
            scan::SHORT_MIN_VALUE_LEN
        );
    }
}

/// One note for each reason something was passed over on purpose (special files, kernel
/// files, huge blobs): the first few places named, then how many more (`scan /proc` passes
/// over thousands).
fn note_passed_over(passed_over: &[(String, String)]) {
    const SHOWN: usize = 5;
    let mut by_reason: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for (place, why) in passed_over {
        by_reason.entry(why).or_default().push(place);
    }
    for (why, mut places) in by_reason {
        places.sort_unstable();
        let more = places.len().saturating_sub(SHOWN);
        places.truncate(SHOWN);
        let mut text = places.join(", ");
        if more > 0 {
            text.push_str(&format!(" and {more} more"));
        }
        eprintln!(
            "sesame: note: not searched, {why}: {}.",
            printable::printable(&text)
        );
    }
}

/// A finding's place as the text output shows it, control characters escaped: a file name can
/// hold a newline, which would otherwise forge a finding line of its own.
fn place_text(place: &Place) -> String {
    printable::printable(&scan::place_name(place)).into_owned()
}

fn print_text(patterns: &Patterns, report: &Report) -> Result<()> {
    for finding in &report.findings {
        let needle = patterns.needle(finding.needle);
        let source = match finding.place {
            Place::File(_) => "",
            Place::Git { .. } => "git ",
            Place::History(_) => "history ",
        };
        super::outln!(
            "{source}{}:{}:{}: {} version {} ({}), {}",
            place_text(&finding.place),
            finding.line,
            finding.column,
            needle.label,
            needle.version,
            if needle.current { "current" } else { "old" },
            needle.encoding.name(),
        )?;
    }
    Ok(())
}

fn json_rows(patterns: &Patterns, report: &Report) -> Vec<serde_json::Value> {
    report
        .findings
        .iter()
        .map(|finding| {
            let needle = patterns.needle(finding.needle);
            let mut row = json!({
                "line": finding.line,
                "column": finding.column,
                "label": needle.label.as_str(),
                "version": needle.version,
                "current": needle.current,
                "encoding": needle.encoding.name(),
            });
            let place = match &finding.place {
                Place::File(path) => json!({"source": "file", "path": path.display().to_string()}),
                Place::History(path) => {
                    json!({"source": "history", "path": path.display().to_string()})
                }
                Place::Git { repo, commit, path } => json!({
                    "source": "git",
                    "repository": repo.display().to_string(),
                    "commit": commit,
                    "path": path,
                }),
            };
            if let (Some(row), Some(place)) = (row.as_object_mut(), place.as_object()) {
                row.extend(place.clone());
            }
            row
        })
        .collect()
}

/// One line of counts, then — when something was found — what to do, label by label.
fn summarize(patterns: &Patterns, report: &Report) {
    let mut what = plural(report.searched, "file");
    if report.git_blobs > 0 {
        what.push_str(&format!(", {}", plural(report.git_blobs, "git blob")));
    }
    if !report.history_files.is_empty() {
        let names: Vec<String> = report
            .history_files
            .iter()
            .map(|p| printable::path(p))
            .collect();
        what.push_str(&format!(", shell history ({})", names.join(", ")));
    }
    if report.binary_skipped > 0 {
        what.push_str(&format!(
            "; {} skipped as binary (--binary searches them)",
            report.binary_skipped
        ));
    }
    let values = patterns.searched_values();
    if report.findings.is_empty() {
        eprintln!(
            "sesame: no stored value found ({} searched for in {what}).",
            plural(values, "value")
        );
        return;
    }
    let mut current = BTreeSet::new();
    let mut old = BTreeSet::new();
    let (mut in_git, mut in_history) = (false, false);
    for finding in &report.findings {
        let needle = patterns.needle(finding.needle);
        if needle.current {
            current.insert(needle.label.to_string());
        } else {
            old.insert(format!("{} version {}", needle.label, needle.version));
        }
        in_git |= matches!(finding.place, Place::Git { .. });
        in_history |= matches!(finding.place, Place::History(_));
    }
    let places: BTreeSet<&Place> = report.findings.iter().map(|f| &f.place).collect();
    eprintln!(
        "sesame: found {} in {} ({} searched for in {what}).",
        plural(report.findings.len(), "match"),
        plural(places.len(), "place"),
        plural(values, "value"),
    );
    eprintln!("What to do: a key that was written down may have been copied; replace it first.");
    for label in &current {
        eprintln!(
            "  - sesame rotate {label}   (after making a new key at its provider and revoking this one)"
        );
    }
    if !old.is_empty() {
        eprintln!(
            "  - old versions were found ({}): they were rotated already; check that the \
             provider has revoked them",
            old.iter().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    eprintln!("Then remove the value where it was found:");
    eprintln!(
        "  - files: replace it with a reference (`sesame run --env NAME=LABEL`, or a \
         `NAME=sesame://LABEL` line in an env file)"
    );
    if in_git {
        eprintln!(
            "  - git history: rewrite it with git filter-repo --replace-text \
             (https://github.com/newren/git-filter-repo), then force-push and have clones \
             re-cloned; the old commits stay on any server and fork until removed there"
        );
    }
    if in_history {
        eprintln!(
            "  - shell history: delete the lines (bash: `history -d N` then `history -w`; zsh and \
             fish: edit the file with the shell closed, or `history delete` in fish)"
        );
    }
}

/// "1 file", "2 files", "3 matches".
fn plural(count: usize, noun: &str) -> String {
    match (count, noun.ends_with("ch")) {
        (1, _) => format!("{count} {noun}"),
        (_, true) => format!("{count} {noun}es"),
        (_, false) => format!("{count} {noun}s"),
    }
}
