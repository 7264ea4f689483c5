//! Kind 4: the data key encrypted to age recipients (`docs/FORMAT.md`, "Kind 4"): X25519 keys,
//! SSH ed25519/RSA public keys, and age plugin recipients (YubiKey, TPM, FIDO2, Secure Enclave).
//! The age file format and the plugin protocol are the `age` crate's: this module only picks
//! recipients and identities, binds the plaintext to the vault (slot AAD ‖ data key) and checks
//! plugin names before one becomes a program name. Identities come only from the files the user
//! names (`--identity`, `SESAME_AGE_IDENTITY`).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;

use age::Callbacks as _;
use clap::{Arg, ArgAction, ArgMatches};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::{BodyReader, External, Inputs, SlotKind, Unwrapper, Wrapper};
use callbacks::TerminalCallbacks;
use crate::error::{Error, Result};
use crate::secret::{DataKey, KEY_LEN};

/// The kind number of an age slot (`docs/FORMAT.md`, "Kind 4").
pub const KIND: u16 = 4;
/// The longest slot name (`--name`).
pub const MAX_NAME_LEN: usize = 32;
/// The most recipients one slot records.
pub const MAX_RECIPIENTS: usize = 64;
/// The longest recipient a slot records (an ssh-rsa 4096 key is about 720 characters).
pub const MAX_RECIPIENT_LEN: usize = 2048;
/// The longest age ciphertext a slot holds (the record itself is capped at 4096 bytes).
pub const MAX_CIPHERTEXT_LEN: usize = 4000;
/// The largest identity file sesame reads.
const MAX_IDENTITY_FILE: u64 = 64 * 1024;

/// The age kind in the slot registry.
pub static KIND_INFO: SlotKind = SlotKind {
    kind: KIND,
    name: "age",
    check: |body| AgeSlot::parse(body).map(|_| ()),
    details: |body| match AgeSlot::parse(body) {
        Ok(slot) => slot.describe(),
        Err(e) => e,
    },
    created: |body| AgeSlot::parse(body).ok().map(|slot| slot.created),
    external: Some(&EXTERNAL),
};

/// Tried after the ssh-agent kind and before bao-transit, when identities are given.
static EXTERNAL: External = External {
    order: 20,
    unwrapper: |inputs| {
        if inputs.identities.is_empty() {
            return Ok(None);
        }
        Ok(Some(Box::new(AgeUnwrapper::load(inputs)?)))
    },
    rewrapper: |body, _, optional| {
        let slot = AgeSlot::parse(body).map_err(Error::usage)?;
        Ok(Box::new(AgeWrapper {
            name: slot.name,
            recipients: slot.recipients,
            optional,
        }))
    },
    add_command: || {
        clap::Command::new("age")
            .about("The data key encrypted to age recipients: X25519, SSH keys, age plugins")
            .arg(
                Arg::new("recipient")
                    .long("recipient")
                    .short('r')
                    .value_name("age1czwh342naj64njnd6kd9ulcexukqpkmjwm0w8c5nlcx0qqhxhvqswv4yzh")
                    .action(ArgAction::Append)
                    .help("age1..., \"ssh-ed25519 AAAA...\", \"ssh-rsa AAAA...\" or age1PLUGIN1... (repeatable)"),
            )
            .arg(
                Arg::new("recipients-file")
                    .long("recipients-file")
                    .short('R')
                    .value_name("FILE")
                    .action(ArgAction::Append)
                    .help("A file of recipients, one a line (# comments; an SSH .pub file works)"),
            )
            .arg(
                Arg::new("name")
                    .long("name")
                    .value_name("NAME")
                    .default_value("age")
                    .help("The slot's name: one slot per name"),
            )
    },
    add: |args: &ArgMatches, _| {
        let name = args.get_one::<String>("name").cloned().unwrap_or_default();
        check_name(&name).map_err(Error::usage)?;
        let mut recipients: Vec<String> = args
            .get_many::<String>("recipient")
            .into_iter()
            .flatten()
            .map(|r| r.trim().to_string())
            .collect();
        for file in args.get_many::<String>("recipients-file").into_iter().flatten() {
            recipients.extend(read_recipients_file(Path::new(file))?);
        }
        if recipients.is_empty() {
            return Err(Error::usage(
                "no recipient: give --recipient age1... (or an SSH public key), or \
                 --recipients-file FILE",
            ));
        }
        let mut canonical = Vec::with_capacity(recipients.len());
        for r in &recipients {
            let r = canonical_recipient(r).map_err(Error::usage)?;
            if !canonical.contains(&r) {
                canonical.push(r);
            }
        }
        if canonical.len() > MAX_RECIPIENTS {
            return Err(Error::usage(format!(
                "{} recipients: a slot holds at most {MAX_RECIPIENTS}; use several slots (--name)",
                canonical.len()
            )));
        }
        let said = format!(
            "the data key encrypted to {} age recipient{} (slot name {name:?}). Any one of \
             their identities now opens this vault (--identity FILE or SESAME_AGE_IDENTITY)",
            canonical.len(),
            if canonical.len() == 1 { "" } else { "s" }
        );
        let wrapper = AgeWrapper {
            name,
            recipients: canonical,
            optional: false,
        };
        Ok((Box::new(wrapper) as Box<dyn Wrapper>, said))
    },
    same_slot: |new, old| match (AgeSlot::parse(new), AgeSlot::parse(old)) {
        (Ok(new), Ok(old)) => new.name == old.name,
        _ => false,
    },
    add_again_hint: "`sesame slot add age --recipient R` adds one again",
};

/// An age slot's body. Holds no secret: the ciphertext opens only with an identity.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AgeSlot {
    /// The slot's name (`--name`, default `age`): one slot per name.
    pub name: String,
    /// When the slot was made (Unix seconds, UTC).
    pub created: i64,
    /// The recipients, canonical (`age1...`, `ssh-ed25519 BASE64`, `ssh-rsa BASE64`), so that
    /// `rekey` re-encrypts to them with no identity at hand.
    pub recipients: Vec<String>,
    /// A binary age file whose plaintext is slot AAD ‖ data key.
    pub ciphertext: Vec<u8>,
}

/// 1 to `max` letters, digits, `-`, `_`, `.`, and not only dots.
fn is_plain_name(name: &str, max: usize) -> bool {
    !name.is_empty()
        && name.len() <= max
        && name.bytes().any(|b| b != b'.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A slot name: 1 to 32 letters, digits, `-`, `_`, `.`.
fn check_name(name: &str) -> std::result::Result<(), String> {
    if is_plain_name(name, MAX_NAME_LEN) {
        Ok(())
    } else {
        Err(format!(
            "the slot name {name:?} is not 1 to {MAX_NAME_LEN} letters, digits, '-', '_' or '.'"
        ))
    }
}

/// A plugin name, checked before `age-plugin-NAME` is looked up on PATH: letters, digits, `-`,
/// `_`, `.`, and never only dots. *age once ran a program named by a crafted recipient with a
/// path separator in its name (GHSA-32gq-x56h-299c); the file a slot comes from may be hostile.*
pub fn check_plugin_name(name: &str) -> std::result::Result<(), String> {
    if is_plain_name(name, 64) {
        Ok(())
    } else {
        Err(format!(
            "the age plugin name {name:?} is not letters, digits, '-', '_' and '.'"
        ))
    }
}

/// One recipient in its canonical form, or why it is refused. X25519 and plugin recipients are
/// kept as given (lowercase Bech32); an SSH public key keeps its type and key, not its comment.
pub fn canonical_recipient(text: &str) -> std::result::Result<String, String> {
    let text = text.trim();
    let shown: String = text.chars().take(24).collect();
    if text.starts_with("ssh-") || text.starts_with("ecdsa-") {
        let mut fields = text.split_ascii_whitespace();
        let (Some(kind), Some(key)) = (fields.next(), fields.next()) else {
            return Err(format!("{shown}... is not an SSH public key (TYPE BASE64)"));
        };
        if kind != "ssh-ed25519" && kind != "ssh-rsa" {
            return Err(format!(
                "{kind} keys cannot be age recipients: age encrypts to ssh-ed25519 and ssh-rsa \
                 keys only; use one of those, or an age key (age-keygen)"
            ));
        }
        let canonical = format!("{kind} {key}");
        canonical
            .parse::<age::ssh::Recipient>()
            .map_err(|_| format!("{kind} {}... is not a valid {kind} public key", short(key)))?;
        return Ok(canonical);
    }
    if text.starts_with("sk-") {
        return Err(format!(
            "{} keys cannot be age recipients (a security key signs, it cannot decrypt); use \
             age-plugin-fido2-hmac or age-plugin-yubikey",
            text.split_ascii_whitespace().next().unwrap_or_default()
        ));
    }
    if text.len() > MAX_RECIPIENT_LEN || !text.is_ascii() || text.contains(char::is_whitespace) {
        return Err(format!("{shown}... is not an age recipient"));
    }
    let lower = text.to_ascii_lowercase();
    if lower.parse::<age::x25519::Recipient>().is_ok() {
        return Ok(lower);
    }
    match lower.parse::<age::plugin::Recipient>() {
        Ok(r) => {
            check_plugin_name(r.plugin())?;
            Ok(lower)
        }
        Err(_) => Err(format!(
            "{shown}... is not an age recipient (age1..., an ssh-ed25519 or ssh-rsa public key, \
             or age1PLUGIN1...)"
        )),
    }
}

fn short(text: &str) -> String {
    text.chars().take(12).collect()
}

/// How `slot list` names a recipient: X25519 and plugin recipients in full, an SSH key by its
/// type and SHA-256 fingerprint (as `ssh-keygen -l` prints it).
fn recipient_summary(recipient: &str) -> String {
    use base64::Engine;
    let mut fields = recipient.split(' ');
    match (fields.next(), fields.next()) {
        (Some(kind), Some(key)) if kind.starts_with("ssh-") => {
            let fingerprint = base64::engine::general_purpose::STANDARD
                .decode(key)
                .map(|blob| {
                    let digest = Sha256::digest(&blob);
                    base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest)
                })
                .unwrap_or_else(|_| "?".into());
            format!("{kind} SHA256:{fingerprint}")
        }
        _ => recipient.to_string(),
    }
}

/// Reads a recipients file: one recipient a line, blank lines and `#` comments skipped.
fn read_recipients_file(path: &Path) -> Result<Vec<String>> {
    let file = std::fs::File::open(path).map_err(|e| {
        Error::io(format!("cannot read the recipients file {}", path.display()), e)
    })?;
    let mut out = Vec::new();
    for line in BufReader::new(file.take(MAX_IDENTITY_FILE)).lines() {
        let line = line.map_err(|e| {
            Error::io(format!("cannot read the recipients file {}", path.display()), e)
        })?;
        let line = line.trim();
        if !line.is_empty() && !line.starts_with('#') {
            out.push(line.to_string());
        }
    }
    Ok(out)
}

fn text(r: &mut BodyReader<'_>, len: usize, what: &str) -> std::result::Result<String, String> {
    let bytes = r.take(len)?;
    let s = std::str::from_utf8(bytes).map_err(|_| format!("the {what} is not UTF-8"))?;
    Ok(s.to_string())
}

impl AgeSlot {
    /// Reads an age slot's body, checking every bound (`docs/FORMAT.md`, "Kind 4").
    pub fn parse(body: &[u8]) -> std::result::Result<Self, String> {
        let mut r = BodyReader::new(body);
        let name_len = usize::from(r.take(1)?[0]);
        let name = text(&mut r, name_len, "slot name")?;
        check_name(&name)?;
        let created = r.i64()?;
        let count = usize::from(r.u16()?);
        if count == 0 || count > MAX_RECIPIENTS {
            return Err(format!("{count} recipients, outside 1..={MAX_RECIPIENTS}"));
        }
        let mut recipients = Vec::with_capacity(count);
        for _ in 0..count {
            let len = usize::from(r.u16()?);
            if len == 0 || len > MAX_RECIPIENT_LEN {
                return Err(format!("a recipient of {len} bytes, outside 1..={MAX_RECIPIENT_LEN}"));
            }
            let recipient = text(&mut r, len, "recipient")?;
            if canonical_recipient(&recipient).as_deref() != Ok(recipient.as_str()) {
                return Err(format!(
                    "the recipient {}... is not a canonical age recipient",
                    short(&recipient)
                ));
            }
            recipients.push(recipient);
        }
        let len = usize::from(r.u16()?);
        if len == 0 || len > MAX_CIPHERTEXT_LEN {
            return Err(format!("a ciphertext of {len} bytes, outside 1..={MAX_CIPHERTEXT_LEN}"));
        }
        let ciphertext = r.take(len)?.to_vec();
        if !ciphertext.starts_with(b"age-encryption.org/v1\n") {
            return Err("the ciphertext is not a binary age file".into());
        }
        r.finish()?;
        Ok(AgeSlot {
            name,
            created,
            recipients,
            ciphertext,
        })
    }

    /// The body; fails when it would not fit a slot record.
    pub fn encode(&self) -> std::result::Result<Vec<u8>, String> {
        check_name(&self.name)?;
        if self.recipients.is_empty() || self.recipients.len() > MAX_RECIPIENTS {
            return Err(format!("a slot holds 1 to {MAX_RECIPIENTS} recipients"));
        }
        if self.ciphertext.len() > MAX_CIPHERTEXT_LEN {
            return Err(format!(
                "the age ciphertext is {} bytes, over the {MAX_CIPHERTEXT_LEN} a slot holds: \
                 use fewer recipients per slot (several slots, --name), or X25519 keys, whose \
                 stanzas are smaller than RSA ones",
                self.ciphertext.len()
            ));
        }
        let mut out = Vec::with_capacity(16 + self.ciphertext.len());
        out.push(self.name.len() as u8);
        out.extend_from_slice(self.name.as_bytes());
        out.extend_from_slice(&self.created.to_le_bytes());
        out.extend_from_slice(&(self.recipients.len() as u16).to_le_bytes());
        for r in &self.recipients {
            if r.is_empty() || r.len() > MAX_RECIPIENT_LEN {
                return Err(format!("a recipient of {} bytes", r.len()));
            }
            out.extend_from_slice(&(r.len() as u16).to_le_bytes());
            out.extend_from_slice(r.as_bytes());
        }
        out.extend_from_slice(&(self.ciphertext.len() as u16).to_le_bytes());
        out.extend_from_slice(&self.ciphertext);
        if out.len() > crate::format::MAX_SLOT_BODY as usize {
            return Err(format!(
                "the slot is {} bytes, over the {} a slot holds: use fewer recipients per slot \
                 (several slots, --name)",
                out.len(),
                crate::format::MAX_SLOT_BODY
            ));
        }
        Ok(out)
    }

    fn describe(&self) -> String {
        let list: Vec<String> = self.recipients.iter().map(|r| recipient_summary(r)).collect();
        format!("name={} recipients: {}", self.name, list.join(", "))
    }
}

/// The identities from the files the user named, loaded once per command.
pub struct AgeUnwrapper {
    identities: Vec<Box<dyn age::Identity + Send + Sync>>,
    files: String,
}

impl AgeUnwrapper {
    fn load(inputs: &Inputs) -> Result<Self> {
        let mut identities = Vec::new();
        for path in &inputs.identities {
            identities.extend(load_identity_file(path)?);
        }
        let files: Vec<String> = inputs
            .identities
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        Ok(AgeUnwrapper {
            identities,
            files: files.join(", "),
        })
    }
}

/// The identities in one file: an age identity file (`AGE-SECRET-KEY-1...`, `AGE-PLUGIN-...`)
/// or an OpenSSH/PEM private key (ed25519 or RSA). An encrypted SSH key asks for its passphrase
/// on the terminal, once.
fn load_identity_file(path: &Path) -> Result<Vec<Box<dyn age::Identity + Send + Sync>>> {
    let failed = |reason: String| Error::SlotFailed {
        what: format!("the identity file {}", path.display()),
        reason,
    };
    let file = std::fs::File::open(path)
        .map_err(|e| Error::io(format!("cannot read the identity file {}", path.display()), e))?;
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(MAX_IDENTITY_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(format!("cannot read the identity file {}", path.display()), e))?;
    if bytes.len() as u64 > MAX_IDENTITY_FILE {
        return Err(failed(format!("larger than {MAX_IDENTITY_FILE} bytes")));
    }
    if bytes.starts_with(b"-----BEGIN") {
        return load_ssh_key(&bytes, path).map(|i| vec![i]);
    }
    // Plugin names are checked here, before the age crate looks `age-plugin-NAME` up on PATH.
    for line in bytes.split(|b| *b == b'\n') {
        let line = String::from_utf8_lossy(line);
        let line = line.trim();
        if line.starts_with("AGE-PLUGIN-")
            && let Ok(identity) = line.parse::<age::plugin::Identity>()
        {
            check_plugin_name(identity.plugin()).map_err(failed)?;
        }
    }
    let file = age::IdentityFile::from_buffer(&bytes[..])
        .map_err(|e| failed(format!("{e}; give an age identity file or an SSH private key")))?
        .with_callbacks(TerminalCallbacks);
    file.into_identities().map_err(|e| failed(e.to_string()))
}

fn load_ssh_key(bytes: &[u8], path: &Path) -> Result<Box<dyn age::Identity + Send + Sync>> {
    let failed = |reason: String| Error::SlotFailed {
        what: format!("the SSH key {}", path.display()),
        reason,
    };
    let identity =
        age::ssh::Identity::from_buffer(bytes, Some(path.display().to_string()))
            .map_err(|_| failed("not an OpenSSH or PEM private key age can read".into()))?;
    match identity {
        age::ssh::Identity::Unencrypted(_) => Ok(Box::new(identity)),
        age::ssh::Identity::Encrypted(key) => {
            let Some(passphrase) = TerminalCallbacks.request_passphrase(&format!(
                "Passphrase for the SSH key {}: ",
                path.display()
            )) else {
                return Err(failed(
                    "it is encrypted and there is no terminal to ask its passphrase on; run \
                     sesame on a terminal, or load the key into ssh-agent and add an ssh-agent \
                     slot"
                        .into(),
                ));
            };
            let key = key.decrypt(passphrase).map_err(|_| Error::KeyRefused {
                what: format!("wrong passphrase for the SSH key {}", path.display()),
                hint: "type the SSH key's own passphrase (as `ssh-keygen -y -f FILE` asks it)",
            })?;
            Ok(Box::new(age::ssh::Identity::from(key)))
        }
        age::ssh::Identity::Unsupported(kind) => Err(failed(match kind {
            age::ssh::UnsupportedKey::Type(t) => format!(
                "{t} keys cannot open age slots: age decrypts with ed25519 and RSA keys only"
            ),
            age::ssh::UnsupportedKey::Hardware(t) => format!(
                "{t} is a hardware key, which cannot decrypt; use age-plugin-yubikey or \
                 age-plugin-fido2-hmac"
            ),
            _ => "this SSH key format is not supported (encrypted PEM?): convert it with \
                  `ssh-keygen -p -f FILE`"
                .into(),
        })),
    }
}

impl Unwrapper for AgeUnwrapper {
    fn kind(&self) -> u16 {
        KIND
    }

    fn max_slots(&self) -> usize {
        usize::from(crate::format::MAX_SLOTS)
    }

    fn unwrap(&self, body: &[u8], aad: &[u8], path: &Path) -> Result<DataKey> {
        let slot = AgeSlot::parse(body).map_err(|reason| Error::NotAVault {
            path: path.to_path_buf(),
            reason,
        })?;
        let damaged = |reason: String| Error::NotAVault {
            path: path.to_path_buf(),
            reason: format!("age slot {:?}: {reason}", slot.name),
        };
        let decryptor =
            age::Decryptor::new(&slot.ciphertext[..]).map_err(|e| damaged(e.to_string()))?;
        if decryptor.is_scrypt() {
            return Err(damaged("a passphrase-encrypted age file".into()));
        }
        let identities = self.identities.iter().map(|i| i.as_ref() as &dyn age::Identity);
        let mut reader = match decryptor.decrypt(identities) {
            Ok(reader) => reader,
            Err(age::DecryptError::NoMatchingKeys) => {
                return Err(Error::KeyRefused {
                    what: format!(
                        "no identity in {} opens the age slot {:?} of {}",
                        self.files,
                        slot.name,
                        path.display()
                    ),
                    hint: "give the identity of one of the slot's recipients (`sesame slot list` \
                           shows them)",
                });
            }
            Err(e) => {
                return Err(Error::SlotFailed {
                    what: format!("age slot {:?}", slot.name),
                    reason: e.to_string(),
                });
            }
        };
        let mut plaintext = Zeroizing::new(Vec::with_capacity(aad.len() + KEY_LEN + 1));
        (&mut reader)
            .take((aad.len() + KEY_LEN + 1) as u64)
            .read_to_end(&mut plaintext)
            .map_err(|e| damaged(e.to_string()))?;
        // The plaintext starts with the slot AAD: a slot copied from another vault, or from
        // before a `rekey`, opens but is refused here.
        super::bound_key(&plaintext, aad).ok_or(Error::SlotMoved {
            path: path.to_path_buf(),
            kind: "age",
        })
    }

    fn no_slot_hint(&self) -> &'static str {
        "add one with `sesame slot add age --recipient R`"
    }
}

/// Encrypts the data key to a slot's recipients.
pub struct AgeWrapper {
    /// The slot's name (`--name`, default `age`).
    pub name: String,
    /// The recipients, as given (`age1…`, `ssh-ed25519 …`, `age1NAME1…`).
    pub recipients: Vec<String>,
    /// `rekey --drop-unreachable`: a failure (a plugin missing) drops the slot.
    pub optional: bool,
}

impl AgeWrapper {
    fn encrypt(&self, plaintext: &[u8]) -> Result<Vec<u8>> {
        let failed = |reason: String| Error::SlotFailed {
            what: format!("encrypting the age slot {:?}", self.name),
            reason,
        };
        let mut native: Vec<Box<dyn age::Recipient + Send>> = Vec::new();
        let mut plugins: BTreeMap<String, Vec<age::plugin::Recipient>> = BTreeMap::new();
        for text in &self.recipients {
            // Re-checked: on `rekey` the recipients come from the file.
            let text = canonical_recipient(text).map_err(&failed)?;
            if let Ok(r) = text.parse::<age::x25519::Recipient>() {
                native.push(Box::new(r));
            } else if let Ok(r) = text.parse::<age::ssh::Recipient>() {
                native.push(Box::new(r));
            } else if let Ok(r) = text.parse::<age::plugin::Recipient>() {
                check_plugin_name(r.plugin()).map_err(&failed)?;
                plugins.entry(r.plugin().to_string()).or_default().push(r);
            } else {
                return Err(failed(format!("{}... is not an age recipient", short(&text))));
            }
        }
        for (name, recipients) in &plugins {
            let plugin =
                age::plugin::RecipientPluginV1::new(name, recipients, &[], TerminalCallbacks)
                    .map_err(|e| {
                        failed(format!(
                            "{e} (install age-plugin-{name} on PATH to encrypt to its recipients)"
                        ))
                    })?;
            native.push(Box::new(plugin));
        }
        let encryptor = age::Encryptor::with_recipients(
            native.iter().map(|r| r.as_ref() as &dyn age::Recipient),
        )
        .map_err(|e| failed(e.to_string()))?;
        let mut out = Vec::new();
        let mut writer = encryptor
            .wrap_output(&mut out)
            .map_err(|e| failed(e.to_string()))?;
        writer
            .write_all(plaintext)
            .and_then(|()| writer.finish().map(|_| ()))
            .map_err(|e| failed(e.to_string()))?;
        Ok(out)
    }
}

impl Wrapper for AgeWrapper {
    fn kind(&self) -> u16 {
        KIND
    }

    fn wrap(&self, data_key: &DataKey, aad: &[u8]) -> Result<Option<Vec<u8>>> {
        let ciphertext = match self.encrypt(&super::bound_plaintext(data_key, aad)) {
            Ok(c) => c,
            Err(_) if self.optional => return Ok(None),
            Err(e) => return Err(e),
        };
        let slot = AgeSlot {
            name: self.name.clone(),
            created: crate::units::now(),
            recipients: self.recipients.clone(),
            ciphertext,
        };
        slot.encode().map(Some).map_err(|reason| Error::SlotFailed {
            what: format!("the age slot {:?}", self.name),
            reason,
        })
    }
}

mod callbacks;
#[cfg(test)]
mod tests;
