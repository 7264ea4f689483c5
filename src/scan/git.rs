//! `scan --git`: every blob reachable from any ref of a repository, each searched once, read by
//! `git` itself in child processes. sesame parses no git object: `git log --all --raw` lists the
//! commits and the blobs each adds, `git cat-file --batch-check` gives their sizes, and `git
//! cat-file --batch` streams their contents; this process only matches bytes.
//! The children start from an empty environment (plus `PATH`, `HOME` and a few settings that keep
//! git quiet), so they never see a passphrase variable or a token, and they hold no secret: they
//! are handed object names and hand back repository bytes.

use std::collections::HashSet;
use std::ffi::OsString;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use zeroize::Zeroizing;

use crate::error::{Error, Result};

use super::{Patterns, Place, Report};

/// Blobs larger than this are not searched (each is named in a note): it bounds the time one
/// blob can take (a 1 GiB blob of zeros). The size comes from the object's header, so passing one
/// over costs nothing. A value hidden in a file that large is still found by a plain `scan` of a
/// checkout of it. Searched blobs are streamed, so memory does not grow with their size.
pub(crate) const MAX_BLOB_LEN: u64 = 64 << 20;

/// A blob to search: its id, the commit the walk first met it under, and its path there.
struct GitBlob {
    id: String,
    size: u64,
    commit: usize,
    path: String,
}

/// `git` with an environment of nothing but what it needs: no `GIT_*` variable of the user's
/// (which could point it elsewhere), no sesame or OpenBao secret, no pager, no prompt.
pub(super) fn git(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.env_clear();
    for keep in ["PATH", "HOME", "XDG_CONFIG_HOME"] {
        if let Some(value) = std::env::var_os(keep) {
            cmd.env(keep, value);
        }
    }
    cmd.env("LC_ALL", "C")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_OPTIONAL_LOCKS", "0")
        .env("GIT_PAGER", "cat")
        .arg("--no-pager")
        .arg("-C")
        .arg(dir)
        .stdin(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

/// Runs a short git command and returns its first line of output.
fn git_line(dir: &Path, args: &[&str]) -> std::result::Result<String, String> {
    let out = git(dir)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run git ({e}); is git installed?"))?;
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stderr);
        return Err(said
            .lines()
            .next()
            .unwrap_or("git failed")
            .trim()
            .to_string());
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or("")
        .to_string())
}

/// The git folder of the repository that holds `start` (canonical, so two paths in one
/// repository name it alike).
pub(crate) fn git_repository(start: &Path) -> Result<PathBuf> {
    let dir = if start.is_dir() {
        start
    } else {
        start.parent().unwrap_or(Path::new("."))
    };
    let git_dir = git_line(dir, &["rev-parse", "--absolute-git-dir"]).map_err(|why| {
        Error::usage(format!(
            "--git: {} is not in a git repository ({why}); leave out --git, or give a PATH \
             inside one",
            start.display()
        ))
    })?;
    let git_dir = PathBuf::from(git_dir);
    Ok(std::fs::canonicalize(&git_dir).unwrap_or(git_dir))
}

/// Searches every blob reachable from any ref (branches, tags, remotes, the stash, `HEAD`) of
/// the repository at `git_dir` (see [`git_repository`]), each blob once, reported at the first
/// commit and path git's walk meets it at (newest commits first: usually the newest commit that
/// still holds it).
pub(crate) fn scan_git(patterns: &Patterns, git_dir: &Path, binary: bool) -> Result<Report> {
    let workdir = git_line(git_dir, &["rev-parse", "--show-toplevel"])
        .ok()
        .filter(|w| !w.is_empty())
        .map_or_else(|| git_dir.to_path_buf(), PathBuf::from);
    let failed = |what: &str, why: String| {
        Error::io(
            format!("cannot read the git repository at {}", workdir.display()),
            io::Error::other(format!("{what}: {why}")),
        )
    };
    let (commits, blobs) =
        reachable_blobs(git_dir).map_err(|why| failed("listing objects", why))?;
    let mut report = Report::default();
    let mut wanted = Vec::with_capacity(blobs.len());
    for blob in &blobs {
        if blob.size > MAX_BLOB_LEN {
            let place = place_of(&workdir, &commits, blob);
            report.passed_over.push((
                format!("git {} ({} bytes)", place_name(&place), blob.size),
                format!(
                    "being git blobs over {} MiB (`scan PATH` searches a checkout of them)",
                    MAX_BLOB_LEN >> 20
                ),
            ));
        } else {
            wanted.push(blob);
        }
    }
    search_blobs(
        patterns,
        git_dir,
        &workdir,
        &commits,
        &wanted,
        binary,
        &mut report,
    )
    .map_err(|e| failed("reading blobs", e.to_string()))?;
    Ok(report)
}

fn place_of(workdir: &Path, commits: &[String], blob: &GitBlob) -> Place {
    Place::Git {
        repo: workdir.to_path_buf(),
        commit: commits.get(blob.commit).cloned().unwrap_or_default(),
        path: blob.path.clone(),
    }
}

/// How a git place is named in notes: `<commit, 12 digits>:<path>`, or the file's path.
pub(crate) fn place_name(place: &Place) -> String {
    match place {
        Place::Git { commit, path, .. } => format!("{}:{path}", commit.get(..12).unwrap_or(commit)),
        Place::File(path) | Place::History(path) => path.display().to_string(),
    }
}

/// Waits for a child and turns a failure into its first line of stderr.
fn finish(mut child: Child, what: &str) -> std::result::Result<(), String> {
    let mut said = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = err.by_ref().take(64 * 1024).read_to_string(&mut said);
    }
    let status = child.wait().map_err(|e| format!("{what}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        let first = said.lines().next().unwrap_or("").trim();
        Err(format!("{what} failed ({status}): {first}"))
    }
}

/// Every blob reachable from any ref's commits, each once, with the commit and path it was first
/// met at: `git log --all --raw -m --root -z` lists, newest commit first, each commit and the
/// blobs its tree gained against each parent (every file of a root commit), with NUL-ended paths
/// (a path may hold a newline); `git cat-file --batch-check` then gives each blob's size.
fn reachable_blobs(git_dir: &Path) -> std::result::Result<(Vec<String>, Vec<GitBlob>), String> {
    let mut log = git(git_dir)
        .args([
            "log",
            "--all",
            "-m",
            "--root",
            "--raw",
            "-z",
            "--no-abbrev",
            "--no-renames",
            "--format=%x01%H",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run git ({e}); is git installed?"))?;
    let out = log
        .stdout
        .take()
        .ok_or_else(|| "git log gave no output".to_string())?;
    let mut commits: Vec<String> = Vec::new();
    let mut blobs: Vec<GitBlob> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut tokens = BufReader::new(out).split(b'\0');
    while let Some(token) = tokens.next() {
        let token = token.map_err(|e| e.to_string())?;
        let token = token.strip_prefix(b"\n").unwrap_or(&token);
        if let Some(commit) = token.strip_prefix(b"\x01") {
            commits.push(String::from_utf8_lossy(commit).into_owned());
            continue;
        }
        let Some(meta) = token.strip_prefix(b":") else {
            continue;
        };
        // `:SRCMODE DSTMODE SRCID DSTID STATUS`, then the path as the next token.
        let path = match tokens.next() {
            Some(path) => path.map_err(|e| e.to_string())?,
            None => break,
        };
        let meta = String::from_utf8_lossy(meta);
        let fields: Vec<&str> = meta.split(' ').collect();
        let [_, mode, _, id, status] = fields[..] else {
            continue;
        };
        let is_blob = matches!(mode, "100644" | "100755" | "100664" | "120000");
        if !is_blob || status.starts_with('D') || commits.is_empty() || !seen.insert(id.to_string())
        {
            continue;
        }
        blobs.push(GitBlob {
            id: id.to_string(),
            size: 0,
            commit: commits.len() - 1,
            path: String::from_utf8_lossy(&path).into_owned(),
        });
    }
    finish(log, "git log")?;
    sizes(git_dir, &mut blobs)?;
    Ok((commits, blobs))
}

/// Fills in each blob's size from `git cat-file --batch-check` (the object's header only).
fn sizes(git_dir: &Path, blobs: &mut [GitBlob]) -> std::result::Result<(), String> {
    if blobs.is_empty() {
        return Ok(());
    }
    let mut check = git(git_dir)
        .args(["cat-file", "--batch-check=%(objectname) %(objectsize)"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run git ({e})"))?;
    let mut stdin = check.stdin.take().ok_or("git cat-file has no input")?;
    let stdout = check.stdout.take().ok_or("git cat-file has no output")?;
    let names: Vec<String> = blobs.iter().map(|b| b.id.clone()).collect();
    let read = std::thread::scope(|scope| {
        scope.spawn(move || {
            let mut input = io::BufWriter::new(&mut stdin);
            for name in &names {
                if writeln!(input, "{name}").is_err() {
                    break;
                }
            }
            let _ = input.flush();
        });
        let mut lines = BufReader::new(stdout).lines();
        for blob in blobs.iter_mut() {
            let line = match lines.next() {
                Some(line) => line.map_err(|e| e.to_string())?,
                None => return Err("git cat-file --batch-check ended early".to_string()),
            };
            let mut fields = line.split(' ');
            if fields.next() != Some(blob.id.as_str()) {
                return Err(format!("git cat-file --batch-check answered {line:?}"));
            }
            blob.size = fields.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        }
        Ok(())
    });
    if read.is_err() {
        let _ = check.kill();
    }
    let finished = finish(check, "git cat-file --batch-check");
    read.and(finished)
}

/// Streams the contents of `blobs` from one `git cat-file --batch` and searches each as it
/// arrives, piece by piece (the same search as files), so memory stays at one piece however
/// large a blob is. The blob names are written by a second thread: git answers while it reads.
fn search_blobs(
    patterns: &Patterns,
    git_dir: &Path,
    workdir: &Path,
    commits: &[String],
    blobs: &[&GitBlob],
    binary: bool,
    report: &mut Report,
) -> io::Result<()> {
    if blobs.is_empty() {
        return Ok(());
    }
    let mut cat = git(git_dir)
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut stdin = cat
        .stdin
        .take()
        .ok_or_else(|| io::Error::other("git cat-file has no input"))?;
    let stdout = cat
        .stdout
        .take()
        .ok_or_else(|| io::Error::other("git cat-file has no output"))?;
    let names: Vec<OsString> = blobs.iter().map(|b| OsString::from(&b.id)).collect();
    let result = std::thread::scope(|scope| {
        scope.spawn(move || {
            let mut input = io::BufWriter::new(&mut stdin);
            for name in &names {
                let line = name.to_string_lossy();
                if input
                    .write_all(line.as_bytes())
                    .and_then(|()| input.write_all(b"\n"))
                    .is_err()
                {
                    break;
                }
            }
            let _ = input.flush();
            drop(input);
            drop(stdin);
        });
        let read = || -> io::Result<()> {
            let mut out = BufReader::with_capacity(1 << 16, stdout);
            let mut buf = Zeroizing::new(Vec::new());
            let mut head = Vec::new();
            for blob in blobs {
                head.clear();
                out.read_until(b'\n', &mut head)?;
                let text = String::from_utf8_lossy(&head);
                let mut fields = text.trim_end().split(' ');
                let (id, kind, size) = (fields.next(), fields.next(), fields.next());
                if id != Some(blob.id.as_str()) || kind != Some("blob") {
                    if kind == Some("missing") {
                        report.errors.push(format!("git blob {}: missing", blob.id));
                        continue;
                    }
                    return Err(io::Error::other(format!(
                        "git cat-file answered {:?} for blob {}",
                        text.trim_end(),
                        blob.id
                    )));
                }
                let size: u64 = size.and_then(|s| s.parse().ok()).unwrap_or(0);
                let mut content = (&mut out).take(size);
                let mut place = None;
                let mut found = Vec::new();
                let searched =
                    patterns.search_reader(&mut content, &mut buf, !binary, &mut |l, c, p| {
                        let place = place.get_or_insert_with(|| place_of(workdir, commits, blob));
                        patterns.findings_at(place, l, c, p, &mut found)
                    })?;
                // What the search did not read (a binary blob stops at its first piece).
                io::copy(&mut content, &mut io::sink())?;
                let mut newline = [0u8; 1];
                out.read_exact(&mut newline)?;
                if searched {
                    report.git_blobs += 1;
                    report.findings.extend(found);
                } else {
                    report.binary_skipped += 1;
                }
            }
            Ok(())
        };
        let read = read();
        if read.is_err() {
            // The thread writing names may be blocked on a full pipe: end git so it stops.
            let _ = cat.kill();
        }
        read
    });
    let finished = finish(cat, "git cat-file --batch").map_err(io::Error::other);
    result.and(finished)
}
