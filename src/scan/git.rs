//! `scan --git`: every blob reachable from any ref of a repository, each searched once.

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use zeroize::Zeroizing;

use crate::error::{Error, Result};

use super::{Patterns, Place, Report};

/// Blobs larger than this are not searched (each is named in a note). A blob is inflated whole
/// before it is searched, so this bounds the memory of each searching thread; the size is read
/// from the object's header, which costs no inflating. A value hidden in a file that large is
/// still found by a plain `scan` of a checkout of it, which streams.
pub const MAX_BLOB_LEN: u64 = 64 << 20;

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
                use gix::objs::{FindExt, FindHeader};
                let repo = sync.to_thread_local();
                let mut buf = Zeroizing::new(Vec::new());
                let mut local = Report::default();
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(blob) = blobs.get(index) else { break };
                    let place = || Place::Git {
                        repo: workdir.clone(),
                        commit: commit_names[blob.commit].clone(),
                        path: String::from_utf8_lossy(&blob.path).into_owned(),
                    };
                    match repo.objects.try_header(&blob.id) {
                        Ok(Some(header)) if header.size > MAX_BLOB_LEN => {
                            local.passed_over.push((
                                format!("git {} ({} bytes)", place_name(&place()), header.size),
                                format!(
                                    "being git blobs over {} MiB (`scan PATH` searches a \
                                     checkout of them)",
                                    MAX_BLOB_LEN >> 20
                                ),
                            ));
                            continue;
                        }
                        _ => {}
                    }
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
                    let mut found = Vec::new();
                    let mut found_at = None;
                    patterns.search_slice(data, &mut |l, c, p| {
                        let at = found_at.get_or_insert_with(place);
                        patterns.findings_at(at, l, c, p, &mut found)
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

/// `commit:path` as `scan` names a git place (the commit shortened to 12 digits).
pub fn place_name(place: &Place) -> String {
    match place {
        Place::Git { commit, path, .. } => format!("{}:{path}", commit.get(..12).unwrap_or(commit)),
        Place::File(path) | Place::History(path) => path.display().to_string(),
    }
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
