//! Templates for `inject` and `run --template`: a config file (`.npmrc`, a kubeconfig, a service's
//! YAML) with `{{ sesame://LABEL }}` and `{{ bao://MOUNT/PATH#FIELD }}` where keys belong. There
//! are no expressions: a reference is replaced by the value, byte for byte, and every other byte
//! is copied as written. A template is parsed whole before the vault is opened, and rendered into
//! one buffer sized up front, so a failure leaves nothing half written and no stray copy.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::names::{Label, REFERENCE_PREFIX};
use crate::openbao::reference::{BaoRef, PREFIX as BAO_PREFIX};
use crate::secret::SecretValue;
use crate::vault::Vault;

/// The largest template read: config files are small, and a path to an endless file
/// (`/dev/zero`) fails at once instead of filling memory.
pub(crate) const MAX_TEMPLATE_LEN: u64 = 1024 * 1024;

/// What a `{{ … }}` names.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Reference {
    /// `sesame://LABEL`: a secret of the vault.
    Secret(Label),
    /// `bao://MOUNT/PATH#FIELD`: a field of an OpenBao KV secret, read at render time.
    Bao(BaoRef),
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reference::Secret(label) => write!(f, "{REFERENCE_PREFIX}{label}"),
            Reference::Bao(r) => r.fmt(f),
        }
    }
}

/// One piece of a template: bytes copied as written, or a reference and the line it is on.
enum Part {
    Text(std::ops::Range<usize>),
    Reference(Reference, usize),
}

/// A parsed template. No `Debug`: its text may hold keys written into it by hand.
pub(crate) struct Template {
    /// Where it came from, for messages: a path, or `stdin`.
    origin: String,
    source: Zeroizing<Vec<u8>>,
    parts: Vec<Part>,
}

/// Spaces and tabs: what may stand between the braces and the reference.
fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

impl Template {
    /// Parses `source`. The rule, as `docs/CLI.md` states it: `{{`, optional spaces or tabs,
    /// then a reference starting `sesame://` or `bao://`, optional spaces or tabs, `}}`. A `{{`
    /// not followed by one of those schemes is text (a Helm or Jinja expression is left for its
    /// own tool); one that is followed by a scheme but is not exactly a reference (a bad label,
    /// a filter, no `}}`) is an error naming its line, never silently copied: a file that was
    /// meant to carry a key would otherwise carry the reference.
    pub(crate) fn parse(source: Zeroizing<Vec<u8>>, origin: &str) -> Result<Template> {
        let mut parts = Vec::new();
        let bytes = source.as_slice();
        let (mut at, mut text_start, mut line) = (0, 0, 1);
        while let Some(found) = memchr::memmem::find(&bytes[at..], b"{{") {
            let open = at + found;
            line += bytes[at..open].iter().filter(|&&b| b == b'\n').count();
            let mut i = open + 2;
            while i < bytes.len() && is_blank(bytes[i]) {
                i += 1;
            }
            let rest = &bytes[i..];
            if !rest.starts_with(REFERENCE_PREFIX.as_bytes())
                && !rest.starts_with(BAO_PREFIX.as_bytes())
            {
                // Not a reference: text. Step one byte, so `{{{ sesame://a }}` still finds the
                // reference in its last two braces.
                at = open + 1;
                continue;
            }
            let start = i;
            while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'}' {
                i += 1;
            }
            let token = &bytes[start..i];
            while i < bytes.len() && is_blank(bytes[i]) {
                i += 1;
            }
            let at_line = |message: String| Error::usage(format!("{origin}:{line}: {message}"));
            if !bytes[i..].starts_with(b"}}") {
                let quoted =
                    crate::printable::cut(&String::from_utf8_lossy(token), MAX_QUOTED_CHARS);
                // Something follows the reference before `}}` on this line: a filter or an
                // expression, which templates do not have; else the line ends unclosed.
                let closed_later = bytes[i..]
                    .iter()
                    .take_while(|&&b| b != b'\n')
                    .collect::<Vec<_>>()
                    .windows(2)
                    .any(|w| *w[0] == b'}' && *w[1] == b'}');
                return Err(at_line(if closed_later {
                    format!(
                        "templates have no expressions or filters: only {{{{ {quoted} }}}} can \
                         stand between the braces"
                    )
                } else {
                    format!(
                        "a reference opened with {{{{ is not closed by }}}} on the same line: \
                         write {{{{ {quoted} }}}}"
                    )
                }));
            }
            let reference = parse_reference(token).map_err(|e| at_line(e.to_string()))?;
            if text_start < open {
                parts.push(Part::Text(text_start..open));
            }
            parts.push(Part::Reference(reference, line));
            at = i + 2;
            text_start = at;
        }
        if text_start < bytes.len() {
            parts.push(Part::Text(text_start..bytes.len()));
        }
        Ok(Template {
            origin: origin.to_string(),
            source,
            parts,
        })
    }

    /// Reads and parses the template at `path` (a regular file, at most [`MAX_TEMPLATE_LEN`]).
    pub(crate) fn read(path: &Path) -> Result<Template> {
        let shown = path.display().to_string();
        let cannot = |e| Error::io(format!("cannot read the template {shown}"), e);
        let (file, meta) = crate::store::open_for_reading(path).map_err(cannot)?;
        if !meta.is_file() {
            return Err(Error::usage(format!(
                "the template {shown} is not a regular file (a folder, device or FIFO)"
            )));
        }
        if crate::scan::open::is_kernel_file(&file) {
            return Err(Error::usage(format!(
                "the template {shown} is {}: its text is the system's (`/proc/self/environ` is \
                 sesame's own environment), not a template; give a template file",
                crate::scan::open::KERNEL_FILE
            )));
        }
        let len = meta.len();
        Template::read_from(file, len, &shown)
    }

    /// Reads and parses a template from `reader` (stdin), at most [`MAX_TEMPLATE_LEN`] bytes;
    /// `expected` sizes the buffer when the length is known.
    pub(crate) fn read_from(reader: impl Read, expected: u64, origin: &str) -> Result<Template> {
        if expected > MAX_TEMPLATE_LEN {
            return Err(too_large(origin));
        }
        // Sized up front (one byte past the limit is the most that is read): growing the
        // buffer would leave copies of a template that may hold keys.
        let cap = usize::try_from(MAX_TEMPLATE_LEN.min(expected.max(64 * 1024)) + 1)
            .unwrap_or(usize::MAX);
        let mut source = Zeroizing::new(Vec::with_capacity(cap));
        let mut limited = reader.take(MAX_TEMPLATE_LEN + 1);
        let mut chunk = Zeroizing::new([0u8; 8192]);
        loop {
            let n = match limited.read(chunk.as_mut_slice()) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(Error::io(format!("cannot read the template {origin}"), e));
                }
            };
            if source.len() + n > MAX_TEMPLATE_LEN as usize {
                return Err(too_large(origin));
            }
            if source.len() + n > source.capacity() {
                let mut bigger = Zeroizing::new(Vec::with_capacity(MAX_TEMPLATE_LEN as usize + 1));
                bigger.extend_from_slice(&source);
                source = bigger;
            }
            source.extend_from_slice(&chunk[..n]);
        }
        Template::parse(source, origin)
    }

    /// The references, in order, each once.
    pub(crate) fn references(&self) -> Vec<&Reference> {
        let mut refs: Vec<&Reference> = self
            .parts
            .iter()
            .filter_map(|p| match p {
                Part::Reference(r, _) => Some(r),
                Part::Text(_) => None,
            })
            .collect();
        refs.sort();
        refs.dedup();
        refs
    }

    /// The `bao://` references, for one read per KV path before rendering.
    pub(crate) fn bao_references(&self) -> impl Iterator<Item = &BaoRef> {
        self.references().into_iter().filter_map(|r| match r {
            Reference::Bao(b) => Some(b),
            Reference::Secret(_) => None,
        })
    }

    /// The `sesame://` labels, in order (a label used twice comes twice): what a caller opens
    /// with `crate::approval::open_current` before rendering.
    pub(crate) fn secret_labels(&self) -> impl Iterator<Item = &Label> {
        self.parts.iter().filter_map(|part| match part {
            Part::Reference(Reference::Secret(label), _) => Some(label),
            _ => None,
        })
    }

    /// Checks that every `sesame://` label is in `vault`: exit 5 naming `TEMPLATE:LINE` and
    /// close labels for the first that is not.
    pub(crate) fn check_labels(&self, vault: &Vault) -> Result<()> {
        for part in &self.parts {
            if let Part::Reference(Reference::Secret(label), line) = part {
                vault.get(label).map_err(|e| Error::At {
                    at: format!("{}:{line}", self.origin),
                    error: Box::new(e),
                })?;
            }
        }
        Ok(())
    }

    /// The rendered bytes: secrets from `vault`, `bao://` fields from `fetched` (read before
    /// with [`crate::openbao::reference::resolve`]). Fails, with nothing produced, when a label
    /// is not in the vault (exit 5) or a field was not fetched.
    pub(crate) fn render(
        &self,
        vault: &Vault,
        opened: &BTreeMap<Label, SecretValue>,
        fetched: &BTreeMap<BaoRef, SecretValue>,
    ) -> Result<Zeroizing<Vec<u8>>> {
        self.check_labels(vault)?;
        let value = |r: &Reference| -> Result<&[u8]> {
            match r {
                Reference::Secret(label) => Ok(secret_value(vault, opened, label)?.expose()),
                Reference::Bao(b) => fetched.get(b).map(SecretValue::expose).ok_or_else(|| {
                    Error::Failed(format!("{b} was not read from OpenBao before rendering"))
                }),
            }
        };
        let mut len = 0usize;
        for part in &self.parts {
            len = len.saturating_add(match part {
                Part::Text(range) => range.len(),
                Part::Reference(r, _) => value(r)?.len(),
            });
        }
        // Exactly the final size: the buffer never grows, so no partial copy is left behind.
        let mut out = Zeroizing::new(Vec::with_capacity(len));
        for part in &self.parts {
            match part {
                Part::Text(range) => out.extend_from_slice(&self.source[range.clone()]),
                Part::Reference(r, _) => out.extend_from_slice(value(r)?),
            }
        }
        Ok(out)
    }

    /// What the usage log records, as `run` records it: a secret by its bare label (so `list`
    /// counts the use), a `bao://` field as written; never a value.
    pub(crate) fn logged(&self) -> Vec<String> {
        self.references()
            .iter()
            .map(|r| match r {
                Reference::Secret(label) => label.to_string(),
                Reference::Bao(b) => b.to_string(),
            })
            .collect()
    }

    /// The values a template puts in, for `run --mask` to conceal: secrets from `vault`, fields
    /// from `fetched` (those not fetched are left out; rendering fails on them first).
    pub(crate) fn values<'v>(
        &self,
        vault: &'v Vault,
        opened: &'v BTreeMap<Label, SecretValue>,
        fetched: &'v BTreeMap<BaoRef, SecretValue>,
    ) -> Vec<&'v SecretValue> {
        self.references()
            .into_iter()
            .filter_map(|r| match r {
                Reference::Secret(label) => secret_value(vault, opened, label).ok(),
                Reference::Bao(b) => fetched.get(b),
            })
            .collect()
    }
}

/// A secret's current value: a confirmed secret's from `opened` (the approval path filled it),
/// any other's from the vault; a sealed value that was not opened is exit 3.
fn secret_value<'v>(
    vault: &'v Vault,
    opened: &'v BTreeMap<Label, SecretValue>,
    label: &Label,
) -> Result<&'v SecretValue> {
    match opened.get(label) {
        Some(value) => Ok(value),
        None => vault.get(label)?.current.plain(label),
    }
}

/// The most of a template's text a message quotes, in characters: enough to find the line, not a
/// whole line of someone's secret pasted where a label goes.
const MAX_QUOTED_CHARS: usize = 40;

fn too_large(origin: &str) -> Error {
    Error::usage(format!(
        "the template {origin} is larger than 1 MiB, the most sesame renders; split it"
    ))
}

/// `sesame://LABEL` or `bao://MOUNT/PATH#FIELD`, exactly.
fn parse_reference(token: &[u8]) -> Result<Reference> {
    let text = std::str::from_utf8(token).map_err(|_| {
        Error::usage("a reference is ASCII: sesame://LABEL or bao://MOUNT/PATH#FIELD")
    })?;
    match text.strip_prefix(REFERENCE_PREFIX) {
        Some(label) => Label::parse(label).map(Reference::Secret),
        None => BaoRef::parse(text).map(Reference::Bao),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::names::EnvName;
    use crate::vault::Secret;

    fn template(text: &str) -> Result<Template> {
        Template::parse(Zeroizing::new(text.as_bytes().to_vec()), "t")
    }

    fn vault(secrets: &[(&str, &str)]) -> Vault {
        let mut vault = Vault::default();
        for (label, value) in secrets {
            let label = Label::parse(label).unwrap();
            let env = EnvName::parse("X").unwrap();
            let value = SecretValue::new(Zeroizing::new(value.as_bytes().to_vec()));
            vault.insert(Secret::first(label, env, value, 0)).unwrap();
        }
        vault
    }

    fn render(text: &str, secrets: &[(&str, &str)]) -> Result<String> {
        let out = template(text)?.render(&vault(secrets), &BTreeMap::new(), &BTreeMap::new())?;
        Ok(String::from_utf8(out.to_vec()).unwrap())
    }

    #[test]
    fn references_are_replaced_and_everything_else_is_copied() {
        let secrets = [("npm/token", "npm_abc"), ("db", "pw")];
        for (text, want) in [
            (
                "//registry/:_authToken={{ sesame://npm/token }}\n",
                "//registry/:_authToken=npm_abc\n",
            ),
            ("{{sesame://db}}", "pw"),
            ("a {{\t sesame://db \t}} b {{ sesame://db }}", "a pw b pw"),
            ("{{{ sesame://db }}}", "{pw}"),
            (
                "helm: {{ .Values.x }} jinja: {{ name | upper }}",
                "helm: {{ .Values.x }} jinja: {{ name | upper }}",
            ),
            ("unclosed {{ and }} alone", "unclosed {{ and }} alone"),
            ("no references at all", "no references at all"),
            ("", ""),
        ] {
            assert_eq!(render(text, &secrets).unwrap(), want, "{text:?}");
        }
    }

    #[test]
    fn a_reference_attempt_that_is_not_exactly_one_is_an_error_with_its_line() {
        for (text, needle) in [
            ("ok\n{{ sesame://db | base64 }}", "t:2:"),
            ("{{ sesame://db", "t:1: a reference opened"),
            ("{{ sesame://bad label }}", "t:1"),
            ("{{ sesame:// }}", "invalid label"),
            (
                "\n\n{{ bao://secret/app }}",
                "t:3: \"bao://secret/app\" names no field",
            ),
            ("{{ sesame://db\n}}", "t:1"),
        ] {
            let e = template(text).err().unwrap();
            assert_eq!(e.exit_code(), 2, "{text:?}");
            assert!(e.to_string().contains(needle), "{text:?}: {e}");
        }
    }

    #[test]
    fn an_unknown_label_is_exit_5_with_its_line() {
        let e = render("a\nb {{ sesame://nope }}", &[("db", "pw")])
            .err()
            .unwrap();
        assert_eq!(e.exit_code(), 5);
        assert!(e.to_string().starts_with("t:2: "), "{e}");
    }

    #[test]
    fn bao_references_are_listed_once_and_rendered_from_what_was_fetched() {
        let t = template("{{ bao://secret/app#k }} {{ bao://secret/app#k }} {{ sesame://db }}")
            .unwrap();
        let refs: Vec<String> = t.bao_references().map(ToString::to_string).collect();
        assert_eq!(refs, ["bao://secret/app#k"]);
        assert_eq!(t.logged(), ["db", "bao://secret/app#k"]);
        let mut fetched = BTreeMap::new();
        let r = BaoRef::parse("bao://secret/app#k").unwrap();
        fetched.insert(r, SecretValue::new(Zeroizing::new(b"v".to_vec())));
        let out = t
            .render(&vault(&[("db", "pw")]), &BTreeMap::new(), &fetched)
            .unwrap();
        assert_eq!(out.as_slice(), b"v v pw");
    }

    proptest::proptest! {
        /// Any bytes: parsing never panics, and a template it accepts renders (with every label
        /// present) to its text with each reference replaced: text without `{{` comes back as it
        /// was.
        #[test]
        fn any_bytes_parse_without_panic_and_plain_text_renders_unchanged(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256),
        ) {
            let parsed = Template::parse(Zeroizing::new(bytes.clone()), "t");
            if !bytes.windows(2).any(|w| w == b"{{") {
                let out = parsed.ok().unwrap().render(&Vault::default(), &BTreeMap::new(), &BTreeMap::new()).unwrap();
                proptest::prop_assert_eq!(out.as_slice(), bytes.as_slice());
            }
        }

        #[test]
        fn references_among_any_text_render_to_their_values(
            parts in proptest::collection::vec(("[^{}]{0,12}", proptest::prelude::any::<bool>()), 0..8),
        ) {
            let mut text = String::new();
            let mut want = String::new();
            for (literal, reference) in &parts {
                text.push_str(literal);
                want.push_str(literal);
                if *reference {
                    text.push_str("{{ sesame://db }}");
                    want.push_str("pw");
                }
            }
            proptest::prop_assert_eq!(render(&text, &[("db", "pw")]).unwrap(), want);
        }
    }

    #[test]
    fn a_template_over_the_limit_is_refused() {
        let big = vec![b'a'; MAX_TEMPLATE_LEN as usize + 1];
        let e = Template::read_from(&big[..], 0, "stdin").err().unwrap();
        assert!(e.to_string().contains("larger than 1 MiB"), "{e}");
        let fits = vec![b'a'; MAX_TEMPLATE_LEN as usize];
        assert!(Template::read_from(&fits[..], 0, "stdin").is_ok());
    }
}
