//! Conflict copies that sync tools leave beside the vault when two machines changed it at once:
//! found by name only (nothing is opened), so `status` and every command that opens the vault
//! can say which ones to `sesame merge`.

use std::path::{Path, PathBuf};

/// A file beside the vault that looks like a sync tool's copy of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictCopy {
    /// The copy.
    pub path: PathBuf,
    /// Which tool names copies this way.
    pub tool: &'static str,
}

impl ConflictCopy {
    /// Whether the vault (`vault`, read from `vault_file`) already holds everything of this
    /// copy: the copy is the vault's file itself, or a merge (or write) recorded the copy's file
    /// hash among its ancestors (the newest 32). Such a copy can be deleted.
    pub fn merged_into(&self, vault: &crate::vault::Vault, vault_file: &Path) -> bool {
        use crate::vault::identity::file_hash;
        let Ok(bytes) = crate::backup::read_copy(&self.path) else {
            return false;
        };
        let hash = file_hash(&bytes);
        vault.ancestry.contains(&hash)
            || crate::backup::read_copy(vault_file).is_ok_and(|ours| file_hash(&ours) == hash)
    }
}

/// Which tool, if any, names a copy of the vault file `vault_name` as `name`:
/// Syncthing `NAME.sync-conflict-….sesame`, Dropbox `NAME (… conflicted copy …).sesame`,
/// Nextcloud `NAME (conflicted copy …).sesame`, git `NAME.sesame.orig`.
pub(crate) fn tool_of(vault_name: &str, name: &str) -> Option<&'static str> {
    let (stem, ext) = match vault_name.strip_suffix(".sesame") {
        Some(stem) => (stem, ".sesame"),
        None => (vault_name, ""),
    };
    if name == format!("{vault_name}.orig") {
        return Some("git");
    }
    let rest = name.strip_prefix(stem)?.strip_suffix(ext)?;
    if rest.starts_with(".sync-conflict-") {
        return Some("Syncthing");
    }
    if rest.starts_with(" (") && rest.ends_with(')') && rest.contains("onflicted copy") {
        return Some(if rest.starts_with(" (conflicted copy") {
            "Nextcloud"
        } else {
            "Dropbox"
        });
    }
    None
}

/// The conflict copies beside `vault`, sorted by name. A folder that cannot be read has none.
pub fn conflict_copies(vault: &Path) -> Vec<ConflictCopy> {
    let Some(vault_name) = vault.file_name().and_then(|n| n.to_str()) else {
        return Vec::new();
    };
    let folder = crate::store::folder_of(vault);
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut copies: Vec<ConflictCopy> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let tool = tool_of(vault_name, &name)?;
            Some(ConflictCopy {
                path: folder.join(name),
                tool,
            })
        })
        .collect();
    copies.sort_by(|a, b| a.path.cmp(&b.path));
    copies
}

#[cfg(test)]
mod tests {
    use super::tool_of;

    #[test]
    fn each_sync_tool_s_conflict_copy_is_recognised_by_name() {
        let vault = "vault.sesame";
        for (name, tool) in [
            (
                "vault.sync-conflict-20261206-081500-ABCDEFG.sesame",
                Some("Syncthing"),
            ),
            (
                "vault (Ann's conflicted copy 2026-12-06).sesame",
                Some("Dropbox"),
            ),
            (
                "vault (conflicted copy 2026-12-06 081500).sesame",
                Some("Nextcloud"),
            ),
            ("vault.sesame.orig", Some("git")),
            ("vault.sesame", None),
            ("vault-2.sesame", None),
            ("other.sync-conflict-1.sesame", None),
            ("vault (copy).sesame", None),
        ] {
            assert_eq!(tool_of(vault, name), tool, "{name}");
        }
    }
}
