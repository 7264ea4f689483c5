//! `scan`: finds the vault's own values — every version, in the encodings they are pasted in —
//! hard-coded in files, in a git repository's history and in shell history. One automaton over
//! all of them (built by [`crate::matcher`], as for `run --mask`) searches every byte once.
//! A finding names a place, a label and a version, never the value; nothing is written to disk.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::names::Label;
use crate::vault::Vault;

/// Values shorter than this many bytes are not searched: they would match everywhere.
pub const MIN_VALUE_LEN: usize = 8;

/// Files are read and searched in pieces of this size (a typical source file in one piece), so a
/// file of any size is searched in bounded memory.
const CHUNK_LEN: usize = 8 << 20;

/// How a value appears in the searched text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Encoding {
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
    pub fn name(self) -> &'static str {
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
pub struct Needle {
    pub label: Label,
    pub version: u32,
    pub current: bool,
    pub encoding: Encoding,
}

/// A version that is not searched, being shorter than [`MIN_VALUE_LEN`].
#[derive(Clone, Debug)]
pub struct Skipped {
    pub label: Label,
    pub version: u32,
}

/// Every searched form of every value, and the automaton over them.
pub struct Patterns {
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
    /// Derives the patterns of every version of every secret in `vault` and builds the automaton
    /// once. Identical bytes (a value kept under two labels, an encoding equal to the value) are
    /// one pattern with several owners.
    pub fn new(vault: &Vault) -> Result<Patterns> {
        let mut needles = Vec::new();
        let mut skipped = Vec::new();
        let mut forms: Vec<(Zeroizing<Vec<u8>>, usize)> = Vec::new();
        for secret in &vault.secrets {
            for version in std::iter::once(&secret.current).chain(&secret.history) {
                let value = version.value.expose();
                if value.len() < MIN_VALUE_LEN {
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
    pub fn skipped(&self) -> &[Skipped] {
        &self.skipped
    }

    /// How many values (label × version) are searched.
    pub fn searched_values(&self) -> usize {
        let mut seen: Vec<(&Label, u32)> =
            self.needles.iter().map(|n| (&n.label, n.version)).collect();
        seen.sort();
        seen.dedup();
        seen.len()
    }

    /// How many distinct byte strings the automaton searches for.
    pub fn pattern_count(&self) -> usize {
        self.bytes.len()
    }

    pub fn needle(&self, index: usize) -> &Needle {
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
            buf.drain(..resume);
            base += resume as u64;
        }
    }

    /// Searches bytes held in memory (a git blob, a decoded history file).
    fn search_slice(&self, text: &[u8], found: &mut dyn FnMut(u64, u64, usize)) {
        let Some(automaton) = &self.automaton else {
            return;
        };
        let mut lines = LineCounter::default();
        for m in automaton.find_iter(text) {
            let (line, column) = lines.position(text, 0, m.start());
            found(line, column, m.pattern().as_usize());
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
pub enum Place {
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
pub struct Finding {
    pub place: Place,
    pub line: u64,
    pub column: u64,
    /// Index of the [`Needle`] (see [`Patterns::needle`]).
    pub needle: usize,
}

/// What a search found, and what it passed over.
#[derive(Default)]
pub struct Report {
    pub findings: Vec<Finding>,
    /// Files (or blobs) not searched because they hold a NUL byte (`--binary` searches them).
    pub binary_skipped: usize,
    /// Files that could not be read, with the reason (the search went on).
    pub errors: Vec<String>,
    /// Files searched (not counting binary ones skipped).
    pub searched: usize,
    /// Git blobs searched.
    pub git_blobs: usize,
    /// The shell history files that were searched.
    pub history_files: Vec<PathBuf>,
}

impl Report {
    /// Adds the findings and counts of another search.
    pub fn merge_from(&mut self, other: Report) {
        self.findings.extend(other.findings);
        self.binary_skipped += other.binary_skipped;
        self.errors.extend(other.errors);
        self.searched += other.searched;
        self.git_blobs += other.git_blobs;
        self.history_files.extend(other.history_files);
    }

    /// Findings in a stable order: by place, line, column, label, version.
    pub fn sort(&mut self, patterns: &Patterns) {
        self.findings.sort_by(|a, b| {
            let (na, nb) = (patterns.needle(a.needle), patterns.needle(b.needle));
            (&a.place, a.line, a.column, &na.label, na.version)
                .cmp(&(&b.place, b.line, b.column, &nb.label, nb.version))
        });
    }
}

/// How to walk folders.
#[derive(Clone, Copy, Debug, Default)]
pub struct WalkOptions {
    /// Search files with NUL bytes too.
    pub binary: bool,
    /// Search files that `.gitignore`, `.ignore` and git's excludes leave out.
    pub no_ignore: bool,
}

/// Searches files and folders as ripgrep walks them: `.gitignore`/`.ignore` respected, hidden
/// files searched (keys hide in `.env` and `.npmrc`) but `.git` folders left to [`scan_git`],
/// symbolic links never followed, binary files skipped unless asked.
pub fn scan_paths(patterns: &Patterns, paths: &[PathBuf], options: WalkOptions) -> Report {
    let Some((first, rest)) = paths.split_first() else {
        return Report::default();
    };
    let mut builder = ignore::WalkBuilder::new(first);
    for path in rest {
        builder.add(path);
    }
    builder
        .hidden(false)
        .follow_links(false)
        .standard_filters(!options.no_ignore)
        .hidden(false)
        .filter_entry(|entry| entry.file_name() != ".git")
        .threads(
            std::thread::available_parallelism()
                .map(usize::from)
                .unwrap_or(1)
                .min(12),
        );
    let report = Mutex::new(Report::default());
    let searched = AtomicUsize::new(0);
    let binary = AtomicUsize::new(0);
    builder.build_parallel().run(|| {
        let report = &report;
        let searched = &searched;
        let binary = &binary;
        let mut buf = Zeroizing::new(Vec::new());
        Box::new(move |entry| {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    push_error(report, e.to_string());
                    return ignore::WalkState::Continue;
                }
            };
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                return ignore::WalkState::Continue;
            }
            let path = entry.path();
            let mut found = Vec::new();
            let place = Place::File(path.to_path_buf());
            let result = File::open(path).and_then(|mut file| {
                patterns.search_reader(&mut file, &mut buf, !options.binary, &mut |l, c, p| {
                    patterns.findings_at(&place, l, c, p, &mut found)
                })
            });
            match result {
                Ok(true) => {
                    searched.fetch_add(1, Ordering::Relaxed);
                }
                Ok(false) => {
                    binary.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => push_error(report, format!("{}: {e}", path.display())),
            }
            if !found.is_empty()
                && let Ok(mut report) = report.lock()
            {
                report.findings.extend(found);
            }
            ignore::WalkState::Continue
        })
    });
    let mut report = report.into_inner().unwrap_or_else(|e| e.into_inner());
    report.searched = searched.into_inner();
    report.binary_skipped = binary.into_inner();
    report
}

fn push_error(report: &Mutex<Report>, message: String) {
    if let Ok(mut report) = report.lock() {
        report.errors.push(message);
    }
}

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

/// A blob to search, with the first commit and path the walk found it at.
struct GitBlob {
    id: gix::ObjectId,
    commit: usize,
    path: Vec<u8>,
}

/// The git folder of the repository that holds `start` (canonical, so two paths in one
/// repository name it alike).
pub fn git_repository(start: &Path) -> Result<PathBuf> {
    let repo = gix::discover(start).map_err(|e| {
        Error::usage(format!(
            "--git: {} is not in a git repository ({e}); leave out --git, or give a PATH inside one",
            start.display()
        ))
    })?;
    let git_dir = repo.git_dir();
    Ok(std::fs::canonicalize(git_dir).unwrap_or_else(|_| git_dir.to_path_buf()))
}

/// Searches every blob reachable from any ref (branches, tags, remotes, the stash, `HEAD`) of
/// the repository at `git_dir` (see [`git_repository`]), each blob once. The walk goes from
/// `HEAD`, then the refs in name order, back through parents; a blob is reported at the first
/// commit and path the walk meets it at — usually the newest commit that still holds it.
pub fn scan_git(patterns: &Patterns, git_dir: &Path, binary: bool) -> Result<Report> {
    let repo = gix::open(git_dir).map_err(|e| {
        Error::io(
            format!("cannot open the git repository at {}", git_dir.display()),
            io::Error::other(e),
        )
    })?;
    let workdir = repo
        .workdir()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| repo.git_dir().to_path_buf());
    let git_error = |what: &str, e: &dyn std::fmt::Display| {
        Error::io(
            format!("cannot read the git repository at {}", workdir.display()),
            io::Error::other(format!("{what}: {e}")),
        )
    };
    let (commits, blobs) = reachable_blobs(&repo).map_err(|e| git_error("walking history", &e))?;
    let commit_names: Vec<String> = commits.iter().map(|c| c.to_string()).collect();
    let sync = repo.into_sync();
    let next = AtomicUsize::new(0);
    let report = Mutex::new(Report::default());
    let threads = std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(1)
        .clamp(1, 12);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                use gix::objs::FindExt;
                let repo = sync.to_thread_local();
                let mut buf = Zeroizing::new(Vec::new());
                let mut local = Report::default();
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(blob) = blobs.get(index) else { break };
                    let data = match repo.objects.find(&blob.id, &mut buf) {
                        Ok(data) => data.data,
                        Err(e) => {
                            local.errors.push(format!("git blob {}: {e}", blob.id));
                            continue;
                        }
                    };
                    if !binary && memchr::memchr(0, data).is_some() {
                        local.binary_skipped += 1;
                        continue;
                    }
                    local.git_blobs += 1;
                    let mut place = None;
                    let mut found = Vec::new();
                    patterns.search_slice(data, &mut |l, c, p| {
                        let place = place.get_or_insert_with(|| Place::Git {
                            repo: workdir.clone(),
                            commit: commit_names[blob.commit].clone(),
                            path: String::from_utf8_lossy(&blob.path).into_owned(),
                        });
                        patterns.findings_at(place, l, c, p, &mut found)
                    });
                    local.findings.extend(found);
                }
                if let Ok(mut report) = report.lock() {
                    report.merge_from(local);
                }
            });
        }
    });
    Ok(report.into_inner().unwrap_or_else(|e| e.into_inner()))
}

type GitWalkError = Box<dyn std::error::Error + Send + Sync>;

/// The commits reachable from any ref, and the blobs their trees hold, each blob once with the
/// first commit and path it was met at. A tree already walked is not walked again: every blob
/// under it is known.
fn reachable_blobs(
    repo: &gix::Repository,
) -> std::result::Result<(Vec<gix::ObjectId>, Vec<GitBlob>), GitWalkError> {
    use gix::objs::FindExt;
    let hash = repo.object_hash();
    let mut tips: Vec<gix::ObjectId> = Vec::new();
    if let Ok(head) = repo.head_id() {
        tips.push(head.detach());
    }
    let mut refs: Vec<(String, gix::ObjectId)> = Vec::new();
    for reference in repo.references()?.all()? {
        let mut reference = reference?;
        let name = reference.name().as_bstr().to_string();
        if let Ok(id) = reference.peel_to_id() {
            refs.push((name, id.detach()));
        }
    }
    refs.sort();
    tips.extend(refs.into_iter().map(|(_, id)| id));

    let mut commits: Vec<gix::ObjectId> = Vec::new();
    let mut blobs: Vec<GitBlob> = Vec::new();
    let mut seen_objects: HashSet<gix::ObjectId> = HashSet::new();
    let mut queue: std::collections::VecDeque<gix::ObjectId> = tips.into_iter().collect();
    let mut buf = Vec::new();
    let mut tree_buf = Vec::new();
    let mut trees: Vec<(gix::ObjectId, Vec<u8>)> = Vec::new();
    while let Some(id) = queue.pop_front() {
        if !seen_objects.insert(id) {
            continue;
        }
        let object = repo.objects.find(&id, &mut buf)?;
        let root = match object.kind {
            gix::objs::Kind::Commit => {
                let mut commit = gix::objs::CommitRefIter::from_bytes(object.data, hash);
                let tree = commit.tree_id()?;
                queue.extend(commit.parent_ids());
                tree
            }
            gix::objs::Kind::Tree => id,
            gix::objs::Kind::Blob => {
                commits.push(id);
                blobs.push(GitBlob {
                    id,
                    commit: commits.len() - 1,
                    path: Vec::new(),
                });
                continue;
            }
            gix::objs::Kind::Tag => continue,
        };
        commits.push(id);
        let commit = commits.len() - 1;
        trees.push((root, Vec::new()));
        while let Some((tree, prefix)) = trees.pop() {
            if tree == gix::ObjectId::empty_tree(hash) || !seen_objects.insert(tree) {
                continue;
            }
            let data = repo.objects.find(&tree, &mut tree_buf)?;
            for entry in gix::objs::TreeRefIter::from_bytes(data.data, hash) {
                let entry = entry?;
                let mut path = prefix.clone();
                if !path.is_empty() {
                    path.push(b'/');
                }
                path.extend_from_slice(entry.filename);
                let oid = entry.oid.to_owned();
                if entry.mode.is_tree() {
                    trees.push((oid, path));
                } else if entry.mode.is_blob_or_symlink() && seen_objects.insert(oid) {
                    blobs.push(GitBlob {
                        id: oid,
                        commit,
                        path,
                    });
                }
            }
        }
    }
    Ok((commits, blobs))
}

/// The forms of `value` that are searched, each tagged with its encoding. Duplicates (a value
/// whose JSON form is itself) are removed later; every buffer zeroizes on drop.
fn encodings(value: &[u8]) -> Vec<(Encoding, Zeroizing<Vec<u8>>)> {
    let mut out = vec![(Encoding::AsIs, Zeroizing::new(value.to_vec()))];
    for escape_slash in [false, true] {
        let json = json_escape(value, escape_slash);
        if *json != value {
            out.push((Encoding::Json, json));
        }
    }
    for plus_for_space in [false, true] {
        let url = percent_encode(value, plus_for_space);
        if *url != value {
            out.push((Encoding::Url, url));
        }
    }
    for offset in 0..3 {
        let standard = base64_core(value, offset, false);
        let url_safe = base64_core(value, offset, true);
        if url_safe != standard {
            out.push((Encoding::Base64Url, url_safe));
        }
        out.push((Encoding::Base64, standard));
    }
    out
}

/// `value` as it appears between the quotes of a JSON string written by a common encoder.
fn json_escape(value: &[u8], escape_slash: bool) -> Zeroizing<Vec<u8>> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = Zeroizing::new(Vec::with_capacity(value.len() * 2));
    for &b in value {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' if escape_slash => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            0..=0x1f | 0x7f => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            }
            _ => out.push(b),
        }
    }
    out
}

/// RFC 3986 percent-encoding (unreserved bytes kept, upper-case hex); with `plus_for_space`, a
/// space is `+` as in `application/x-www-form-urlencoded`.
fn percent_encode(value: &[u8], plus_for_space: bool) -> Zeroizing<Vec<u8>> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = Zeroizing::new(Vec::with_capacity(value.len() * 3));
    for &b in value {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(b),
            b' ' if plus_for_space => out.push(b'+'),
            _ => {
                out.push(b'%');
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            }
        }
    }
    out
}

/// The base64 characters that depend on `value` alone when it starts `offset` (0, 1 or 2) bytes
/// into a 3-byte group of a longer base64 text: the characters that also hold bits of the bytes
/// before or after it are left off (at most 2 at each end; none at the start when `offset` is
/// 0). The three offsets together find the value wherever it sits in a base64 text, and offset
/// 0 finds it encoded alone, with or without `=` padding.
fn base64_core(value: &[u8], offset: usize, url_safe: bool) -> Zeroizing<Vec<u8>> {
    let mut input = Zeroizing::new(vec![0u8; offset]);
    input.extend_from_slice(value);
    let total_bits = 8 * input.len();
    let first = (8 * offset).div_ceil(6);
    let end = total_bits / 6;
    let mut encoded = Zeroizing::new(String::with_capacity(total_bits.div_ceil(6) + 4));
    let engine = if url_safe {
        URL_SAFE_NO_PAD
    } else {
        STANDARD_NO_PAD
    };
    engine.encode_string(input.as_slice(), &mut encoded);
    Zeroizing::new(
        encoded
            .as_bytes()
            .get(first..end)
            .unwrap_or_default()
            .to_vec(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn core(value: &[u8], offset: usize) -> String {
        String::from_utf8(base64_core(value, offset, false).to_vec()).unwrap_or_default()
    }

    #[test]
    fn base64_cores_are_found_in_any_longer_base64_text_holding_the_value() {
        let value = b"sk-live-4f9a8b7c6d5e";
        for before in 0..6 {
            for after in 0..4 {
                let mut text = vec![b'x'; before];
                text.extend_from_slice(value);
                text.extend(std::iter::repeat_n(b'y', after));
                for engine in [STANDARD_NO_PAD, base64::engine::general_purpose::STANDARD] {
                    let encoded = engine.encode(&text);
                    let core = core(value, before % 3);
                    assert!(
                        encoded.contains(&core),
                        "offset {before}, {after} after: {core} not in {encoded}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_offset_0_core_is_the_whole_value_encoding_but_its_partial_last_character() {
        // 9 bytes: 12 characters, all whole.
        assert_eq!(core(b"123456789", 0), STANDARD_NO_PAD.encode(b"123456789"));
        // 10 bytes: 14 characters, the last holds 2 bits of the value and 4 of whatever follows.
        let full = STANDARD_NO_PAD.encode(b"1234567890");
        assert_eq!(core(b"1234567890", 0), full[..13]);
    }

    #[test]
    fn json_and_url_forms_escape_what_those_formats_escape() {
        let value = b"a\"b\\c/d e\n\x01";
        assert_eq!(
            json_escape(value, false).as_slice(),
            b"a\\\"b\\\\c/d e\\n\\u0001"
        );
        assert_eq!(
            json_escape(value, true).as_slice(),
            b"a\\\"b\\\\c\\/d e\\n\\u0001"
        );
        assert_eq!(
            percent_encode(b"a+b/c d~", false).as_slice(),
            b"a%2Bb%2Fc%20d~"
        );
        assert_eq!(
            percent_encode(b"a+b/c d~", true).as_slice(),
            b"a%2Bb%2Fc+d~"
        );
    }

    #[test]
    fn a_value_that_needs_no_escaping_adds_only_its_base64_forms() {
        let forms = encodings(b"sk_live_0123456789");
        let kinds: Vec<Encoding> = forms.iter().map(|(e, _)| *e).collect();
        assert_eq!(kinds[0], Encoding::AsIs);
        assert!(!kinds.contains(&Encoding::Json) && !kinds.contains(&Encoding::Url));
        assert_eq!(kinds.iter().filter(|k| **k == Encoding::Base64).count(), 3);
    }

    #[test]
    fn zsh_history_is_unmetafied() {
        // "é" is 0xc3 0xa9; zsh stores 0xa9 as 0x83 0x89 (0xa9 ^ 0x20).
        assert_eq!(unmetafy(b"x\xc3\x83\x89y").as_slice(), b"x\xc3\xa9y");
    }

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
