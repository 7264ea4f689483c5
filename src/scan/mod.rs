//! `scan`: finds the vault's own values — every version, in the encodings they are pasted in —
//! hard-coded in files, in a git repository's history and in shell history. One automaton over
//! all of them (built by [`crate::matcher`], as for `run --mask`) searches every byte once.
//! A finding names a place, a label and a version, never the value; nothing is written to disk.

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::names::Label;
use crate::vault::Vault;

mod encodings;
mod git;
mod history;
pub(crate) mod open;
mod walk;

use encodings::encodings;
pub(crate) use git::{git_repository, place_name, scan_git};
pub(crate) use history::{history_files, scan_history};
use open::{Searchable, open_searchable};

/// Values shorter than this many bytes are not searched unless asked (`scan --short`): a short
/// value would match almost anywhere, and a search for it tells whoever chose the searched files
/// which of their guesses is stored (docs/SECURITY.md, "scan as an oracle").
pub(crate) const MIN_VALUE_LEN: usize = 16;

/// With `scan --short`: values shorter than this are never searched (they match everywhere).
pub(crate) const SHORT_MIN_VALUE_LEN: usize = 8;

/// Files are read and searched in pieces of this size (a typical source file in one piece), so a
/// file of any size is searched in bounded memory.
const CHUNK_LEN: usize = 8 << 20;

/// How a value appears in the searched text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Encoding {
    /// The value's bytes as stored.
    AsIs,
    /// Inside a JSON string: `"` `\` and control characters escaped (`\n`, `\u001b`); a second
    /// form also escapes `/` as `\/`, as PHP and some other encoders do.
    Json,
    /// Percent-encoded as RFC 3986 says: every byte but `A-Z a-z 0-9 - . _ ~` as `%XX` (upper-case
    /// hex); a second form writes a space as `+` (HTML forms, query strings).
    Url,
    /// Base64, standard alphabet, with or without padding, alone or inside a longer base64 text.
    Base64,
    /// Base64 with the URL-safe alphabet (`-` and `_`), likewise.
    Base64Url,
}

impl Encoding {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Encoding::AsIs => "as-is",
            Encoding::Json => "json-escaped",
            Encoding::Url => "url-encoded",
            Encoding::Base64 => "base64",
            Encoding::Base64Url => "base64url",
        }
    }
}

/// What a pattern stands for: a label, a version, and how it is encoded. Never the value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Needle {
    pub label: Label,
    pub version: u32,
    pub current: bool,
    pub encoding: Encoding,
}

/// A version that is not searched, being shorter than the minimum length asked for.
#[derive(Clone, Debug)]
pub(crate) struct Skipped {
    pub label: Label,
    pub version: u32,
}

/// Every searched form of every value, and the automaton over them.
pub(crate) struct Patterns {
    /// The distinct pattern bytes, index = the automaton's pattern id. Kept (zeroized on drop)
    /// only as long as the automaton, which holds its own copies (see docs/SECURITY.md).
    bytes: Vec<Zeroizing<Vec<u8>>>,
    /// For each pattern id, the needles it stands for (two labels may share a value).
    owners: Vec<Vec<usize>>,
    needles: Vec<Needle>,
    skipped: Vec<Skipped>,
    automaton: Option<crate::matcher::Searcher>,
    longest: usize,
}

impl Patterns {
    /// Derives the patterns of every version of every secret in `vault` that is at least
    /// `min_len` bytes long ([`MIN_VALUE_LEN`], or [`SHORT_MIN_VALUE_LEN`] with `--short`) and
    /// builds the automaton once. Identical bytes (a value kept under two labels, an encoding
    /// equal to the value) are one pattern with several owners.
    pub(crate) fn new(vault: &Vault, min_len: usize) -> Result<Patterns> {
        let min_len = min_len.max(SHORT_MIN_VALUE_LEN);
        let mut needles = Vec::new();
        let mut skipped = Vec::new();
        let mut forms: Vec<(Zeroizing<Vec<u8>>, usize)> = Vec::new();
        for secret in &vault.secrets {
            for version in std::iter::once(&secret.current).chain(&secret.history) {
                let Some(value) = version.value.plain() else {
                    continue; // sealed for approval: not readable here
                };
                let value = value.expose();
                if value.len() < min_len {
                    skipped.push(Skipped {
                        label: secret.label.clone(),
                        version: version.number,
                    });
                    continue;
                }
                // A needle is (label, version, encoding): only this version's can repeat.
                let this_version = needles.len();
                for (encoding, bytes) in encodings(value) {
                    let needle = Needle {
                        label: secret.label.clone(),
                        version: version.number,
                        current: version.retired.is_none(),
                        encoding,
                    };
                    let index = match needles[this_version..].iter().position(|n| *n == needle) {
                        Some(index) => this_version + index,
                        None => {
                            needles.push(needle);
                            needles.len() - 1
                        }
                    };
                    forms.push((bytes, index));
                }
            }
        }
        forms.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut bytes: Vec<Zeroizing<Vec<u8>>> = Vec::new();
        let mut owners: Vec<Vec<usize>> = Vec::new();
        for (form, needle) in forms {
            match (bytes.last(), owners.last_mut()) {
                (Some(last), Some(owned)) if **last == *form => {
                    if !owned.contains(&needle) {
                        owned.push(needle);
                    }
                }
                _ => {
                    bytes.push(form);
                    owners.push(vec![needle]);
                }
            }
        }
        let automaton = if bytes.is_empty() {
            None
        } else {
            let built = crate::matcher::searcher(bytes.iter().map(|b| b.as_slice()))
                .map_err(|e| Error::io("cannot build the matcher over the stored values", e))?;
            Some(built)
        };
        let longest = bytes.iter().map(|b| b.len()).max().unwrap_or(0);
        Ok(Patterns {
            bytes,
            owners,
            needles,
            skipped,
            automaton,
            longest,
        })
    }

    /// Versions too short to search.
    pub(crate) fn skipped(&self) -> &[Skipped] {
        &self.skipped
    }

    /// How many values (label × version) are searched.
    pub(crate) fn searched_values(&self) -> usize {
        let mut seen: Vec<(&Label, u32)> =
            self.needles.iter().map(|n| (&n.label, n.version)).collect();
        seen.sort();
        seen.dedup();
        seen.len()
    }

    /// How many distinct byte strings the automaton searches for.
    pub(crate) fn pattern_count(&self) -> usize {
        self.bytes.len()
    }

    pub(crate) fn needle(&self, index: usize) -> &Needle {
        &self.needles[index]
    }

    /// Searches `reader` piece by piece; `found(line, column, pattern)` for every match, in
    /// order. With `skip_binary`, a NUL byte in the first piece makes it binary: it is not
    /// searched and `Ok(false)` is returned.
    fn search_reader(
        &self,
        reader: &mut dyn Read,
        buf: &mut Vec<u8>,
        skip_binary: bool,
        found: &mut dyn FnMut(u64, u64, usize),
    ) -> io::Result<bool> {
        let Some(automaton) = &self.automaton else {
            return Ok(true);
        };
        // A match never spans more than `longest` bytes, so a piece is searched up to the last
        // position where every pattern still fits; the rest is carried into the next piece.
        let target = CHUNK_LEN.max(self.longest.saturating_mul(4));
        let carry = self.longest.saturating_sub(1);
        let mut lines = LineCounter::default();
        let mut base: u64 = 0;
        let mut first = true;
        buf.clear();
        loop {
            let want = target.saturating_sub(buf.len());
            buf.reserve(want);
            let read = reader.take(want as u64).read_to_end(buf)?;
            let eof = read < want;
            if first && skip_binary && memchr::memchr(0, buf).is_some() {
                return Ok(false);
            }
            first = false;
            let safe = if eof {
                buf.len()
            } else {
                buf.len().saturating_sub(carry)
            };
            let mut resume = safe;
            for m in automaton.find_iter(buf.as_slice()) {
                if m.start() >= safe {
                    break;
                }
                let (line, column) = lines.position(buf, base, m.start());
                found(line, column, m.pattern().as_usize());
                resume = resume.max(m.end());
            }
            if eof {
                return Ok(true);
            }
            // The newlines of the part dropped now are counted now: a piece with no match (or
            // text after its last match) used to be dropped uncounted, and every later line
            // number came out short.
            lines.position(buf, base, resume);
            buf.drain(..resume);
            base += resume as u64;
        }
    }

    fn findings_at(
        &self,
        place: &Place,
        line: u64,
        column: u64,
        pattern: usize,
        out: &mut Vec<Finding>,
    ) {
        for &needle in self.owners.get(pattern).into_iter().flatten() {
            out.push(Finding {
                place: place.clone(),
                line,
                column,
                needle,
            });
        }
    }
}

/// Turns byte offsets into 1-based line and column (in bytes, as `rg --column`), counting each
/// newline once however the text is split into pieces.
#[derive(Default)]
struct LineCounter {
    /// Lines ended before `counted_to`.
    newlines: u64,
    /// Offset of the first byte after the last newline before `counted_to`.
    line_start: u64,
    counted_to: u64,
}

impl LineCounter {
    /// `buf` holds the text from offset `base`; `at` is an index into `buf` at or after the
    /// previous call's position.
    fn position(&mut self, buf: &[u8], base: u64, at: usize) -> (u64, u64) {
        let from = usize::try_from(self.counted_to.saturating_sub(base)).unwrap_or(0);
        let from = from.min(at);
        let span = &buf[from..at];
        let count = memchr::memchr_iter(b'\n', span).count() as u64;
        if count > 0 {
            self.newlines += count;
            if let Some(last) = memchr::memrchr(b'\n', span) {
                self.line_start = base + (from + last + 1) as u64;
            }
        }
        self.counted_to = base + at as u64;
        (self.newlines + 1, base + at as u64 - self.line_start + 1)
    }
}

/// Where a value was found.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Place {
    File(PathBuf),
    /// A blob of a git repository: a commit that holds it (the first one the walk met) and its
    /// path in that commit.
    Git {
        repo: PathBuf,
        commit: String,
        path: String,
    },
    History(PathBuf),
}

/// One occurrence of one stored value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Finding {
    pub place: Place,
    pub line: u64,
    pub column: u64,
    /// Index of the [`Needle`] (see [`Patterns::needle`]).
    pub needle: usize,
}

/// What a search found, and what it passed over.
#[derive(Default)]
pub(crate) struct Report {
    pub findings: Vec<Finding>,
    /// Files (or blobs) not searched because they hold a NUL byte (`--binary` searches them).
    pub binary_skipped: usize,
    /// Files that could not be read, with the reason (the search went on).
    pub errors: Vec<String>,
    /// What was passed over on purpose, each with why: FIFOs, devices and sockets, files of a
    /// kernel file system (`/proc`, `/sys`), git blobs over [`MAX_BLOB_LEN`].
    /// Each as (place, why).
    pub passed_over: Vec<(String, String)>,
    /// Files searched (not counting binary ones skipped).
    pub searched: usize,
    /// Git blobs searched.
    pub git_blobs: usize,
    /// The shell history files that were searched.
    pub history_files: Vec<PathBuf>,
    /// What the user should know about how the search went (one line each).
    pub notes: Vec<String>,
}

impl Report {
    /// Adds the findings and counts of another search.
    pub(crate) fn merge_from(&mut self, other: Report) {
        self.findings.extend(other.findings);
        self.binary_skipped += other.binary_skipped;
        self.errors.extend(other.errors);
        self.passed_over.extend(other.passed_over);
        self.searched += other.searched;
        self.git_blobs += other.git_blobs;
        self.history_files.extend(other.history_files);
        self.notes.extend(other.notes);
    }

    /// Findings in a stable order: by place, line, column, label, version.
    pub(crate) fn sort(&mut self, patterns: &Patterns) {
        self.findings.sort_by(|a, b| {
            let (na, nb) = (patterns.needle(a.needle), patterns.needle(b.needle));
            (&a.place, a.line, a.column, &na.label, na.version)
                .cmp(&(&b.place, b.line, b.column, &nb.label, nb.version))
        });
    }
}

/// How to walk folders.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct WalkOptions {
    /// Search files with NUL bytes too.
    pub binary: bool,
    /// Search files that `.gitignore` and git's excludes leave out.
    pub no_ignore: bool,
}

/// Searches files and folders: inside a git work tree the files git does not ignore (see
/// [`walk`]), elsewhere every file; hidden files searched (keys hide in `.env` and `.npmrc`),
/// `.git` folders left to [`scan_git`], symbolic links never followed, binary files skipped
/// unless asked. The files are searched on up to 12 threads.
pub(crate) fn scan_paths(patterns: &Patterns, paths: &[PathBuf], options: WalkOptions) -> Report {
    let report = Mutex::new(Report::default());
    let searched = AtomicUsize::new(0);
    let binary = AtomicUsize::new(0);
    // The walk hands each file over as it finds it, so searching starts with the first one.
    let (files, found) = std::sync::mpsc::channel::<PathBuf>();
    let found = Mutex::new(found);
    let search_all = || {
        let mut buf = Zeroizing::new(Vec::new());
        loop {
            let next = match found.lock() {
                Ok(found) => found.recv(),
                Err(_) => return,
            };
            let Ok(path) = next else {
                return; // the walk is over and every file taken
            };
            match search_file(patterns, &path, options.binary, &mut buf, &report) {
                Some(true) => searched.fetch_add(1, Ordering::Relaxed),
                Some(false) => binary.fetch_add(1, Ordering::Relaxed),
                None => 0,
            };
        }
    };
    let threads = std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(1)
        .clamp(1, 12);
    let walk = std::thread::scope(|scope| {
        // A thread that cannot be started leaves its share to the others; the calling thread
        // walks, then searches too, so the search ends even if none could be.
        for _ in 0..threads {
            if std::thread::Builder::new()
                .spawn_scoped(scope, search_all)
                .is_err()
            {
                break;
            }
        }
        let walk = walk::walk(paths, options.no_ignore, |path| {
            // Cannot fail: this thread keeps the receiver alive until it has searched too.
            let _ = files.send(path);
        });
        drop(files);
        search_all();
        walk
    });
    let mut report = report.into_inner().unwrap_or_else(|e| e.into_inner());
    report.errors.extend(walk.errors);
    report.passed_over.extend(walk.passed_over);
    report.notes.extend(walk.notes);
    report.searched = searched.into_inner();
    report.binary_skipped = binary.into_inner();
    report
}

/// Searches one file: `Some(true)` searched, `Some(false)` skipped as binary, `None` passed
/// over or not readable (noted in the report).
fn search_file(
    patterns: &Patterns,
    path: &Path,
    binary: bool,
    buf: &mut Zeroizing<Vec<u8>>,
    report: &Mutex<Report>,
) -> Option<bool> {
    let place = Place::File(path.to_path_buf());
    let mut file = match open_searchable(path) {
        Ok(Searchable::File(file)) => file,
        Ok(Searchable::Not(why)) => {
            push_passed_over(report, path, why);
            return None;
        }
        // Gone since it was listed (a tracked file deleted from the work tree), or a symbolic
        // link (git lists untracked ones as files): nothing to read, nothing to say.
        Err(e)
            if e.kind() == io::ErrorKind::NotFound
                || rustix::io::Errno::from_io_error(&e) == Some(rustix::io::Errno::LOOP) =>
        {
            return None;
        }
        Err(e) => {
            push_error(report, format!("{}: {e}", path.display()));
            return None;
        }
    };
    let mut found = Vec::new();
    let result = patterns.search_reader(&mut file, buf, !binary, &mut |l, c, p| {
        patterns.findings_at(&place, l, c, p, &mut found)
    });
    if !found.is_empty()
        && let Ok(mut report) = report.lock()
    {
        report.findings.extend(found);
    }
    match result {
        Ok(searched) => Some(searched),
        Err(e) => {
            push_error(report, format!("{}: {e}", path.display()));
            None
        }
    }
}

fn push_error(report: &Mutex<Report>, message: String) {
    if let Ok(mut report) = report.lock() {
        report.errors.push(message);
    }
}

fn push_passed_over(report: &Mutex<Report>, path: &Path, why: &str) {
    if let Ok(mut report) = report.lock() {
        report
            .passed_over
            .push((path.display().to_string(), why.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_are_counted_across_pieces() {
        let mut lines = LineCounter::default();
        let text = b"ab\ncd\nef";
        assert_eq!(lines.position(text, 0, 1), (1, 2));
        assert_eq!(lines.position(text, 0, 4), (2, 2));
        // The next piece starts at offset 5 ("\nef").
        assert_eq!(lines.position(&text[5..], 5, 2), (3, 2));
    }

    #[test]
    fn a_match_across_piece_boundaries_is_found_once_at_its_place() -> io::Result<()> {
        let mut vault_patterns = vec![Zeroizing::new(b"0123456789abcdef".to_vec())];
        let automaton = crate::matcher::searcher(vault_patterns.iter().map(|p| p.as_slice()))?;
        let patterns = Patterns {
            owners: vec![vec![0]],
            needles: Vec::new(),
            skipped: Vec::new(),
            automaton: Some(automaton),
            longest: 16,
            bytes: std::mem::take(&mut vault_patterns),
        };
        let mut text = vec![b'.'; CHUNK_LEN - 5];
        text.extend_from_slice(b"0123456789abcdef\n..0123456789abcdef");
        let mut buf = Vec::new();
        let mut found = Vec::new();
        let searched =
            patterns.search_reader(&mut text.as_slice(), &mut buf, true, &mut |l, c, p| {
                found.push((l, c, p))
            })?;
        assert!(searched);
        assert_eq!(found, vec![(1, (CHUNK_LEN - 4) as u64, 0), (2, 3, 0)]);

        Ok(())
    }
}
