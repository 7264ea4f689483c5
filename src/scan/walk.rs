//! Which files a `scan` of folders reads. Inside a git work tree, git itself says which files
//! it does not ignore (`git ls-files --cached --others --exclude-standard`: `.gitignore` files,
//! `.git/info/exclude` and the user's excludes file, exactly as git applies them, and every
//! tracked file even where a pattern would match it); elsewhere, and with `--no-ignore`, every
//! file is read. `.git` folders are left to `scan --git`, symbolic links are never followed
//! below the PATHs given, and kernel file systems are passed over whole.
//!
//! The walk holds no secret: it runs before the search and hands back paths. The git child
//! starts from the scrubbed environment of [`super::git`].

use std::collections::HashSet;
use std::ffi::OsStr;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::git::git;
use super::open::{KERNEL_FILE, is_kernel_path};

/// Why a folder given to `scan` held nothing to read.
pub(crate) const IGNORED_BY_GIT: &str = "left out by .gitignore or git's excludes (--no-ignore \
                                         searches it)";

/// What the walk passed over, could not read, or has to say.
#[derive(Default)]
pub(super) struct Walk {
    pub passed_over: Vec<(String, String)>,
    pub errors: Vec<String>,
    pub notes: Vec<String>,
}

/// A folder waiting to be read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Folder {
    /// A PATH given to `scan`.
    Given,
    /// A folder git listed inside a work tree: a submodule or a nested repository.
    Repository,
    /// Met by reading a folder without git.
    Plain,
}

/// A path git listed, relative to the folder it was asked about.
enum Listed {
    /// A file (or, from the untracked ones, possibly a symbolic link, which the search does not
    /// open).
    File(PathBuf),
    /// A submodule or a nested repository: asked about in turn.
    Repository(PathBuf),
}

/// What git said of a folder.
enum Listing {
    /// How many paths git listed (each handed over as it came), and the warnings it gave.
    Listed { count: usize, said: Vec<String> },
    /// Not inside a git work tree: every file is read.
    NotARepository,
    /// git could not be asked (not installed, or it refused the folder): why.
    Failed(String),
}

/// Hands each file under `paths` to search to `file`, once. A PATH that is a file is searched
/// whatever its name.
pub(super) fn walk(paths: &[PathBuf], no_ignore: bool, file: impl FnMut(PathBuf)) -> Walk {
    let mut walk = Walk::default();
    // Overlapping PATHs (`scan . src`) meet a file twice; it is handed over once.
    let mut seen = HashSet::new();
    let mut file = file;
    let mut found = |path: PathBuf| {
        if seen.insert(path.clone()) {
            file(path);
        }
    };
    // Folders still to read, and what each is: git is asked about a PATH given and about a
    // folder holding a `.git` of its own (a nested repository or a submodule).
    let mut folders: Vec<(PathBuf, Folder)> = Vec::new();
    for path in paths {
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => folders.push((path.clone(), Folder::Given)),
            // A file named by a symbolic link is searched where the link points: it was named.
            Ok(_) if path.is_symlink() => match std::fs::canonicalize(path) {
                Ok(target) => found(target),
                Err(e) => walk.errors.push(format!("{}: {e}", path.display())),
            },
            Ok(_) => found(path.clone()),
            Err(e) => walk.errors.push(format!("{}: {e}", path.display())),
        }
    }
    // An explicit stack, not recursion: a tree nested 100,000 deep must not overflow it.
    let mut git_failed = false;
    let mut real_folders = RealFolders::default();
    while let Some((folder, kind)) = folders.pop() {
        if is_kernel_path(&folder) {
            walk.passed_over
                .push((folder.display().to_string(), KERNEL_FILE.to_string()));
            continue;
        }
        let ask_git = match kind {
            Folder::Given | Folder::Repository => true,
            Folder::Plain => folder.join(".git").symlink_metadata().is_ok(),
        };
        if !no_ignore && ask_git {
            let listing = list_with_git(&folder, &mut |listed| match listed {
                // git names paths from its index, which may cross a folder since replaced by a
                // link: only paths whose every folder below `folder` is a real one are read.
                Listed::File(relative) => {
                    if real_folders.holds(&folder, &relative) {
                        found(folder.join(relative));
                    }
                }
                Listed::Repository(relative) => {
                    let path = folder.join(&relative);
                    if real_folders.holds(&folder, &relative)
                        && std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir())
                    {
                        folders.push((path, Folder::Repository));
                    }
                }
            });
            match listing {
                Listing::Listed { count, said } => {
                    for line in said {
                        walk.notes.push(format!(
                            "git, listing {}: {line}; what it could not read was not searched.",
                            folder.display()
                        ));
                    }
                    if count == 0 && kind == Folder::Given && holds_anything(&folder) {
                        walk.passed_over
                            .push((folder.display().to_string(), IGNORED_BY_GIT.to_string()));
                    }
                    continue;
                }
                Listing::NotARepository => {}
                Listing::Failed(why) => {
                    if !git_failed {
                        walk.notes.push(format!(
                            "git could not list {} ({why}), so .gitignore files were not applied \
                             there: every file was searched.",
                            folder.display()
                        ));
                    }
                    git_failed = true;
                }
            }
        }
        read_folder(&folder, &mut walk, &mut folders, &mut found);
    }
    walk
}

/// Folders below a listed folder checked to be folders, not links (each checked once).
#[derive(Default)]
struct RealFolders {
    checked: HashSet<PathBuf>,
}

impl RealFolders {
    /// Whether every folder between `base` and the file `relative` names is a real folder (a
    /// link to one is not followed). The last part, the file itself, is the search's to open
    /// without following.
    fn holds(&mut self, base: &Path, relative: &Path) -> bool {
        let mut at = base.to_path_buf();
        let Some(parent) = relative.parent() else {
            return true;
        };
        for part in parent.components() {
            at.push(part);
            if self.checked.contains(&at) {
                continue;
            }
            if !std::fs::symlink_metadata(&at).is_ok_and(|m| m.is_dir()) {
                return false;
            }
            self.checked.insert(at.clone());
        }
        true
    }
}

/// Reads one folder without git: files to search, folders to read next.
fn read_folder(
    folder: &Path,
    walk: &mut Walk,
    folders: &mut Vec<(PathBuf, Folder)>,
    found: &mut impl FnMut(PathBuf),
) {
    let entries = match std::fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(e) => {
            walk.errors.push(format!("{}: {e}", folder.display()));
            return;
        }
    };
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                walk.errors.push(format!("{}: {e}", folder.display()));
                continue;
            }
        };
        if entry.file_name() == ".git" {
            continue;
        }
        let path = entry.path();
        match entry.file_type() {
            Ok(kind) if kind.is_dir() => folders.push((path, Folder::Plain)),
            Ok(kind) if kind.is_symlink() => {}
            // Regular files, and FIFOs, devices and sockets, which the search names and passes
            // over without opening them.
            Ok(_) => found(path),
            Err(e) => walk.errors.push(format!("{}: {e}", path.display())),
        }
    }
}

/// Whether a folder holds anything but a `.git`.
fn holds_anything(folder: &Path) -> bool {
    std::fs::read_dir(folder)
        .is_ok_and(|mut entries| entries.any(|e| e.is_ok_and(|e| e.file_name() != ".git")))
}

/// How long each git child may take (`SESAME_GIT_WAIT`, seconds, for the test suite): a
/// repository can make git wait forever (a FIFO as its `.gitignore`, its index or its excludes
/// file); then the folder is read without git, and a note says why.
fn git_wait() -> Duration {
    let secs = std::env::var("SESAME_GIT_WAIT")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|&s| (1..=3600).contains(&s))
        .unwrap_or(60);
    Duration::from_secs(secs)
}

/// Asks git which files under `folder` it does not ignore, handing each to `listed` as it
/// comes: the tracked ones (`ls-files --cached`, quick: the index) while a second git lists the
/// untracked ones (`--others --exclude-standard`, which reads every folder), so the search
/// starts at once. `core.fsmonitor` is switched off: a repository's own configuration must not
/// start a program of its choosing.
fn list_with_git(folder: &Path, listed: &mut dyn FnMut(Listed)) -> Listing {
    let ls_files = |args: &[&str]| {
        let mut cmd = git(folder);
        cmd.args(["-c", "core.fsmonitor=false", "ls-files", "-z"])
            .args(args);
        cmd
    };
    let wait = git_wait();
    let untracked = ls_files(&["--others", "--exclude-standard"]);
    let untracked = std::thread::spawn(move || run_with_deadline(untracked, wait));
    let tracked = match run_with_deadline(ls_files(&["--cached", "--stage"]), wait) {
        Ok(output) => output,
        Err(why) => return Listing::Failed(why),
    };
    if let Some(failed) = failure(&tracked) {
        return failed;
    }
    let mut said = warnings(&tracked);
    let mut count = 0;
    for entry in tracked.stdout.split(|&b| b == 0).filter(|e| !e.is_empty()) {
        // `MODE OBJECT STAGE<TAB>PATH`; a path in conflict comes once per stage, and the walk
        // hands each path over once.
        let Some(tab) = entry.iter().position(|&b| b == b'\t') else {
            continue;
        };
        let path = PathBuf::from(OsStr::from_bytes(&entry[tab + 1..]));
        count += 1;
        match entry.get(..6) {
            Some(b"120000") => {} // a symbolic link: never followed
            Some(b"160000") => listed(Listed::Repository(path)),
            _ => listed(Listed::File(path)),
        }
    }
    let untracked = match untracked.join() {
        Ok(Ok(output)) => output,
        Ok(Err(why)) => return Listing::Failed(why),
        Err(_) => return Listing::Failed("git's listing failed".to_string()),
    };
    if let Some(failed) = failure(&untracked) {
        return failed;
    }
    said.extend(warnings(&untracked));
    for name in untracked
        .stdout
        .split(|&b| b == 0)
        .filter(|n| !n.is_empty())
    {
        count += 1;
        let path = PathBuf::from(OsStr::from_bytes(name));
        // A nested repository is listed as `name/`.
        if name.ends_with(b"/") {
            listed(Listed::Repository(path));
        } else {
            listed(Listed::File(path));
        }
    }
    Listing::Listed { count, said }
}

/// Runs a git child to its end, reading its output and its errors at once (a child that fills
/// one pipe while the other is read would wait forever), killed at `wait`.
fn run_with_deadline(mut cmd: Command, wait: Duration) -> std::result::Result<Output, String> {
    let mut child = match cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn() {
        Ok(child) => child,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err("git is not installed".to_string());
        }
        Err(e) => return Err(format!("cannot run git: {e}")),
    };
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let (done, finished) = mpsc::channel();
    let stdout = child.stdout.take();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = stdout {
            let _ = pipe.read_to_end(&mut bytes);
        }
        let _ = done.send(bytes);
    });
    let stdout = match finished.recv_timeout(wait) {
        Ok(bytes) => bytes,
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("git did not answer within {} s", wait.as_secs()));
        }
    };
    let status = child
        .wait()
        .map_err(|e| format!("cannot wait for git: {e}"))?;
    let stderr = stderr.join().unwrap_or_default();
    Ok(Output {
        status,
        stdout,
        stderr,
    })
}

/// What a successful git said on stderr (a folder it could not open, a `.gitignore` it could
/// not read): its first line and how many more, for a note.
fn warnings(output: &Output) -> Vec<String> {
    let text = String::from_utf8_lossy(&output.stderr);
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let Some(first) = lines.next() else {
        return Vec::new();
    };
    let more = lines.count();
    let first = crate::printable::printable(first)
        .chars()
        .take(200)
        .collect::<String>();
    vec![if more == 0 {
        first
    } else {
        format!("{first} (and {more} more lines)")
    }]
}

/// What a failed `git ls-files` means: not a work tree (every file is read), or a failure to
/// name.
fn failure(output: &Output) -> Option<Listing> {
    if output.status.success() {
        return None;
    }
    let said = String::from_utf8_lossy(&output.stderr);
    if said.contains("not a git repository") || said.contains("must be run in a work tree") {
        return Some(Listing::NotARepository);
    }
    let first = said.lines().next().unwrap_or("git failed").trim();
    Some(Listing::Failed(
        crate::printable::printable(first).into_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deep_tree_is_walked_without_recursion() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let mut deep = dir.path().to_path_buf();
        for _ in 0..200 {
            deep.push("d");
        }
        std::fs::create_dir_all(&deep)?;
        std::fs::write(deep.join("f"), "x")?;
        let mut files = Vec::new();
        let walk = walk(&[dir.path().to_path_buf()], true, |f| files.push(f));
        assert_eq!(files, vec![deep.join("f")]);
        assert!(walk.errors.is_empty(), "{:?}", walk.errors);
        Ok(())
    }
}
