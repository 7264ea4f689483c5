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
use std::process::{Child, Output, Stdio};

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
    /// How many paths git listed (each handed over as it came).
    Listed(usize),
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
                Listed::File(relative) => found(folder.join(relative)),
                Listed::Repository(relative) => {
                    folders.push((folder.join(relative), Folder::Repository));
                }
            });
            match listing {
                Listing::Listed(count) => {
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

/// Asks git which files under `folder` it does not ignore, handing each to `listed` as it
/// comes: the tracked ones (`ls-files --cached`, quick: the index) while a second git lists the
/// untracked ones (`--others --exclude-standard`, which reads every folder), so the search
/// starts at once. Paths are not checked here: the search opens each without following links
/// and passes over what is gone. `core.fsmonitor` is switched off: a repository's own
/// configuration must not start a program of its choosing.
fn list_with_git(folder: &Path, listed: &mut dyn FnMut(Listed)) -> Listing {
    let ls_files = |args: &[&str]| {
        let mut cmd = git(folder);
        cmd.args(["-c", "core.fsmonitor=false", "ls-files", "-z"])
            .args(args)
            .stdout(Stdio::piped());
        cmd
    };
    let untracked = match ls_files(&["--others", "--exclude-standard"]).spawn() {
        Ok(child) => child,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Listing::Failed("git is not installed".to_string());
        }
        Err(e) => return Listing::Failed(format!("cannot run git: {e}")),
    };
    // Killed and reaped on every early return.
    let mut untracked = Reaped(untracked);
    let tracked = match ls_files(&["--cached", "--stage"]).output() {
        Ok(output) => output,
        Err(e) => return Listing::Failed(format!("cannot run git: {e}")),
    };
    if let Some(failed) = failure(&tracked) {
        return failed;
    }
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
    let Some(mut out) = untracked.0.stdout.take() else {
        return Listing::Failed("git gave no output".to_string());
    };
    let mut names = Vec::new();
    let read = out.read_to_end(&mut names);
    let untracked = match (read, untracked.wait_with_stderr()) {
        (Ok(_), Ok(output)) => output,
        (Err(e), _) | (_, Err(e)) => return Listing::Failed(format!("cannot read git: {e}")),
    };
    if let Some(failed) = failure(&untracked) {
        return failed;
    }
    for name in names.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        count += 1;
        let path = PathBuf::from(OsStr::from_bytes(name));
        // A nested repository is listed as `name/`.
        if name.ends_with(b"/") {
            listed(Listed::Repository(path));
        } else {
            listed(Listed::File(path));
        }
    }
    Listing::Listed(count)
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

/// A child killed and reaped if it is dropped before it was waited for.
struct Reaped(Child);

impl Reaped {
    /// Waits for the child (its stdout already read) and collects its stderr.
    fn wait_with_stderr(&mut self) -> io::Result<Output> {
        let mut stderr = Vec::new();
        if let Some(mut err) = self.0.stderr.take() {
            err.read_to_end(&mut stderr)?;
        }
        let status = self.0.wait()?;
        Ok(Output {
            status,
            stdout: Vec::new(),
            stderr,
        })
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
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
