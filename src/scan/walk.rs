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
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

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

/// What git said of a folder.
enum Listing {
    /// The files (and nested repositories) git does not ignore, relative to the folder.
    Files(Vec<PathBuf>),
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
            match list_with_git(&folder) {
                Listing::Files(listed) => {
                    if listed.is_empty() && kind == Folder::Given && holds_anything(&folder) {
                        walk.passed_over
                            .push((folder.display().to_string(), IGNORED_BY_GIT.to_string()));
                    }
                    for relative in listed {
                        let path = folder.join(relative);
                        match std::fs::symlink_metadata(&path) {
                            Ok(meta) if meta.is_dir() => {
                                folders.push((path, Folder::Repository));
                            }
                            Ok(meta) if meta.file_type().is_symlink() => {}
                            Ok(_) => found(path),
                            // Tracked but deleted from the work tree: nothing to read.
                            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                            Err(e) => walk.errors.push(format!("{}: {e}", path.display())),
                        }
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

/// Asks git which files under `folder` it does not ignore. `core.fsmonitor` is switched off: a
/// repository's own configuration must not start a program of its choosing.
fn list_with_git(folder: &Path) -> Listing {
    let output = git(folder)
        .args([
            "-c",
            "core.fsmonitor=false",
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .output();
    let output = match output {
        Ok(output) => output,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Listing::Failed("git is not installed".to_string());
        }
        Err(e) => return Listing::Failed(format!("cannot run git: {e}")),
    };
    if !output.status.success() {
        let said = String::from_utf8_lossy(&output.stderr);
        if said.contains("not a git repository") || said.contains("must be run in a work tree") {
            return Listing::NotARepository;
        }
        let first = said.lines().next().unwrap_or("git failed").trim();
        return Listing::Failed(crate::printable::printable(first).into_owned());
    }
    let mut files: Vec<PathBuf> = output
        .stdout
        .split(|&b| b == 0)
        .filter(|name| !name.is_empty())
        // A nested repository is listed as `name/`; joining keeps it a folder.
        .map(|name| PathBuf::from(OsStr::from_bytes(name)))
        .collect();
    // A path in conflict is listed once per stage.
    files.sort_unstable();
    files.dedup();
    Listing::Files(files)
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
