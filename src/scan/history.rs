//! `scan --history`: the shells' history files, decoded as each shell writes them.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::{Patterns, Place, Report, Searchable, open_searchable};

/// A shell's history file, and how it stores text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shell {
    Bash,
    /// zsh "metafies" bytes 0x83–0xff (and a few others): 0x83, then the byte XOR 0x20.
    Zsh,
    Fish,
}

/// The history files the shells keep by default, and `$HISTFILE` when it is set: bash's
/// `~/.bash_history`, zsh's `~/.zsh_history` and `~/.zhistory` (in `$ZDOTDIR` when set), fish's
/// `$XDG_DATA_HOME/fish/fish_history` (default `~/.local/share`). Only files that exist.
pub(crate) fn history_files(
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

/// zsh's meta byte: 0x83 followed by `b ^ 0x20` stands for the byte `b`.
const META: u8 = 0x83;

/// A reader that undoes zsh's metafication as it reads, so a history file of any size is
/// searched in bounded memory (it used to be read whole, then copied once more decoded).
struct Unmetafy<R> {
    inner: R,
    /// The last byte read was a meta byte: the next one is to be decoded.
    pending: bool,
}

impl<R: Read> Read for Unmetafy<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let n = self.inner.read(out)?;
            if n == 0 {
                return Ok(0);
            }
            // Decoded in place: the output is never longer than the input read so far.
            let mut kept = 0;
            for i in 0..n {
                let b = out[i];
                if self.pending {
                    out[kept] = b ^ 0x20;
                    kept += 1;
                    self.pending = false;
                } else if b == META {
                    self.pending = true;
                } else {
                    out[kept] = b;
                    kept += 1;
                }
            }
            // A read of a lone meta byte yields nothing yet; 0 would mean the end of the file.
            if kept > 0 {
                return Ok(kept);
            }
        }
    }
}

/// Searches shell history files (see [`history_files`]), streaming each through the search as
/// a plain file is searched: memory stays bounded by the search's pieces, whatever the size.
pub(crate) fn scan_history(patterns: &Patterns, files: &[(PathBuf, Shell)]) -> Report {
    let mut report = Report::default();
    let mut buf = Zeroizing::new(Vec::new());
    for (path, shell) in files {
        let file = match open_searchable(path) {
            Ok(Searchable::File(file)) => file,
            Ok(Searchable::Not(why)) => {
                report
                    .passed_over
                    .push((path.display().to_string(), why.to_string()));
                continue;
            }
            Err(e) => {
                report.errors.push(format!("{}: {e}", path.display()));
                continue;
            }
        };
        let mut reader: Box<dyn Read> = match shell {
            Shell::Zsh => Box::new(Unmetafy {
                inner: file,
                pending: false,
            }),
            Shell::Bash | Shell::Fish => Box::new(file),
        };
        let place = Place::History(path.clone());
        let mut found = Vec::new();
        let searched = patterns.search_reader(&mut reader, &mut buf, false, &mut |l, c, p| {
            patterns.findings_at(&place, l, c, p, &mut found)
        });
        if let Err(e) = searched {
            report.errors.push(format!("{}: {e}", path.display()));
            continue;
        }
        report.findings.extend(found);
        report.history_files.push(path.clone());
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `bytes` through [`Unmetafy`], `piece` bytes at a time.
    fn unmetafy(bytes: &[u8], piece: usize) -> Vec<u8> {
        struct Pieces<'a>(&'a [u8], usize);
        impl Read for Pieces<'_> {
            fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
                let n = self.1.min(out.len()).min(self.0.len());
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut out = Vec::new();
        let mut reader = Unmetafy {
            inner: Pieces(bytes, piece),
            pending: false,
        };
        reader.read_to_end(&mut out).unwrap_or_default();
        out
    }

    #[test]
    fn zsh_history_is_unmetafied_across_reads() {
        // "é" is 0xc3 0xa9; zsh stores 0xa9 as 0x83 0x89 (0xa9 ^ 0x20). Read one byte at a time,
        // the meta byte and the byte it qualifies arrive in two reads.
        for piece in [1, 2, 3, 64] {
            assert_eq!(
                unmetafy(b"x\xc3\x83\x89y\x83\xa3", piece),
                b"x\xc3\xa9y\x83"
            );
        }
    }
}
