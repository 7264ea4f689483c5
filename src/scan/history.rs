//! `scan --history`: the shells' history files, decoded as each shell writes them.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::{Patterns, Place, Report};

/// A shell's history file, and how it stores text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shell {
    Bash,
    /// zsh "metafies" bytes 0x83–0xff (and a few others): 0x83, then the byte XOR 0x20.
    Zsh,
    Fish,
}

/// The history files the shells keep by default, and `$HISTFILE` when it is set: bash's
/// `~/.bash_history`, zsh's `~/.zsh_history` and `~/.zhistory` (in `$ZDOTDIR` when set), fish's
/// `$XDG_DATA_HOME/fish/fish_history` (default `~/.local/share`). Only files that exist.
pub fn history_files(
    home: &Path,
    histfile: Option<&Path>,
    zdotdir: Option<&Path>,
    xdg_data_home: Option<&Path>,
) -> Vec<(PathBuf, Shell)> {
    let zdir = zdotdir.unwrap_or(home);
    let data = xdg_data_home
        .map(Path::to_path_buf)
        .unwrap_or_else(|| home.join(".local/share"));
    let mut candidates = vec![
        (home.join(".bash_history"), Shell::Bash),
        (zdir.join(".zsh_history"), Shell::Zsh),
        (zdir.join(".zhistory"), Shell::Zsh),
        (data.join("fish/fish_history"), Shell::Fish),
    ];
    if let Some(histfile) = histfile {
        // Bash and zsh both read $HISTFILE; the zsh decoding leaves bash text unchanged unless it
        // holds byte 0x83, so the file is read as zsh's when its name says so.
        let shell = if histfile.to_string_lossy().contains("zsh") {
            Shell::Zsh
        } else {
            Shell::Bash
        };
        candidates.insert(0, (histfile.to_path_buf(), shell));
    }
    let mut seen = HashSet::new();
    candidates
        .into_iter()
        .filter(|(path, _)| path.is_file() && seen.insert(path.clone()))
        .collect()
}

/// Undoes zsh's metafication: 0x83 followed by `b ^ 0x20` stands for the byte `b`.
fn unmetafy(bytes: &[u8]) -> Zeroizing<Vec<u8>> {
    const META: u8 = 0x83;
    let mut out = Zeroizing::new(Vec::with_capacity(bytes.len()));
    let mut iter = bytes.iter();
    while let Some(&b) = iter.next() {
        if b == META {
            if let Some(&next) = iter.next() {
                out.push(next ^ 0x20);
            }
        } else {
            out.push(b);
        }
    }
    out
}

/// Searches shell history files (see [`history_files`]); their bytes are read into memory only.
pub fn scan_history(patterns: &Patterns, files: &[(PathBuf, Shell)]) -> Report {
    let mut report = Report::default();
    for (path, shell) in files {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => Zeroizing::new(bytes),
            Err(e) => {
                report.errors.push(format!("{}: {e}", path.display()));
                continue;
            }
        };
        let text = match shell {
            Shell::Zsh => unmetafy(&bytes),
            Shell::Bash | Shell::Fish => bytes,
        };
        let place = Place::History(path.clone());
        let mut found = Vec::new();
        patterns.search_slice(&text, &mut |l, c, p| {
            patterns.findings_at(&place, l, c, p, &mut found)
        });
        report.findings.extend(found);
        report.history_files.push(path.clone());
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zsh_history_is_unmetafied() {
        // "é" is 0xc3 0xa9; zsh stores 0xa9 as 0x83 0x89 (0xa9 ^ 0x20).
        assert_eq!(unmetafy(b"x\xc3\x83\x89y").as_slice(), b"x\xc3\xa9y");
    }
}
