//! `bao://MOUNT/PATH#FIELD` references (a field of a KV version 2 secret) and `bao://MOUNT/PATH`
//! locations (`push`, `pull`). MOUNT is the first segment. A reference is resolved at run time,
//! with one request per KV path however many of its fields are used, and is never stored.

use std::collections::BTreeMap;
use std::fmt;

use super::{Connection, check_path};
use crate::error::{Error, Result};
use crate::secret::SecretValue;

/// How a value names OpenBao: `bao://MOUNT/PATH[#FIELD]`.
pub const PREFIX: &str = "bao://";

/// A KV version 2 secret's location: `bao://MOUNT/PATH`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KvPath {
    /// The KV mount, the first segment, e.g. `secret`.
    pub mount: String,
    /// The path under the mount, e.g. `team/app`.
    pub path: String,
}

/// One field of a KV version 2 secret: `bao://MOUNT/PATH#FIELD`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BaoRef {
    /// The secret the field belongs to.
    pub kv: KvPath,
    /// The field's name, e.g. `api_key`.
    pub field: String,
}

/// True when `value` is meant as an OpenBao reference (it may still be malformed).
pub fn is_reference(value: &str) -> bool {
    value.starts_with(PREFIX)
}

impl KvPath {
    /// Reads `bao://MOUNT/PATH`; a `Usage` error shows the form expected.
    pub(crate) fn parse(text: &str) -> Result<KvPath> {
        let rest = text
            .strip_prefix(PREFIX)
            .ok_or_else(|| Error::usage(format!("{text:?} is not a bao://MOUNT/PATH location")))?;
        let (mount, path) = rest.split_once('/').ok_or_else(|| {
            Error::usage(format!(
                "{text:?} names no path: write bao://MOUNT/PATH (e.g. bao://secret/team/app)"
            ))
        })?;
        check_path(mount, "mount")?;
        check_path(path, "path")?;
        Ok(KvPath {
            mount: mount.to_string(),
            path: path.to_string(),
        })
    }
}

impl BaoRef {
    /// Reads `bao://MOUNT/PATH#FIELD`; a `Usage` error shows the form expected.
    pub(crate) fn parse(text: &str) -> Result<BaoRef> {
        let (location, field) = text.split_once('#').ok_or_else(|| {
            Error::usage(format!(
                "{text:?} names no field: write bao://MOUNT/PATH#FIELD (e.g. \
                 bao://secret/team/app#api_key)"
            ))
        })?;
        let kv = KvPath::parse(location)?;
        if field.is_empty()
            || field.len() > 256
            || !field
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/'))
        {
            return Err(Error::usage(format!(
                "invalid field {field:?} in {text:?}: use A-Za-z0-9._-/"
            )));
        }
        Ok(BaoRef {
            kv,
            field: field.to_string(),
        })
    }
}

impl fmt::Display for KvPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{}/{}", self.mount, self.path)
    }
}

impl fmt::Display for BaoRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.kv, self.field)
    }
}

/// The values of `refs`, read with one request per KV path. A path or field that does not exist
/// is exit 5, a refused token exit 3, an unreachable server exit 1 (with its address).
pub fn resolve<'a>(
    conn: &Connection,
    refs: impl IntoIterator<Item = &'a BaoRef>,
) -> Result<BTreeMap<BaoRef, SecretValue>> {
    let mut by_path: BTreeMap<&KvPath, Vec<&BaoRef>> = BTreeMap::new();
    for r in refs {
        by_path.entry(&r.kv).or_default().push(r);
    }
    if !by_path.is_empty() && !conn.has_token() {
        return Err(Error::usage(
            "a bao:// reference needs an OpenBao token: set BAO_TOKEN (or VAULT_TOKEN), log in \
             with `bao login`, or set BAO_AUTH for sesame to log in (docs/TEAM.md)",
        ));
    }
    let mut out = BTreeMap::new();
    for (kv, wanted) in by_path {
        let secret = conn
            .kv_read(&kv.mount, &kv.path)?
            .ok_or_else(|| Error::BaoNotFound {
                addr: conn.addr().to_string(),
                what: format!("the KV secret {kv}"),
            })?;
        for r in wanted {
            let value = secret
                .fields
                .get(&r.field)
                .ok_or_else(|| Error::BaoNotFound {
                    addr: conn.addr().to_string(),
                    what: format!(
                        "the field {:?} of {kv} (version {})",
                        r.field, secret.version
                    ),
                })?;
            out.insert(r.clone(), value.duplicate());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_names_mount_path_and_field() -> Result<()> {
        let r = BaoRef::parse("bao://secret/team/app#api_key")?;
        assert_eq!(r.kv.mount, "secret");
        assert_eq!(r.kv.path, "team/app");
        assert_eq!(r.field, "api_key");
        assert_eq!(r.to_string(), "bao://secret/team/app#api_key");
        for bad in [
            "bao://secret#f",
            "bao://secret/app",
            "bao://secret/app#",
            "bao://secret/../sys#f",
            "bao://secret/app#a b",
        ] {
            assert!(BaoRef::parse(bad).is_err(), "{bad}");
        }
        Ok(())
    }
}
