//! `age-plugin-sesametest`: a plugin for sesame's end-to-end tests, NOT a way to protect anything
//! (the file key is only masked by bytes the recipient itself carries). It speaks the real age
//! plugin protocol through the `age-plugin` crate. The recipient and identity carry the same
//! data: a mode byte, then a few bytes of "secret".
//!
//! Modes: 0 unwraps plainly; 1 asks for a PIN through the protocol's `request-secret` (the PIN
//! is `1234`); 2 fails on purpose when asked to unwrap.

use std::collections::{HashMap, HashSet};
use std::io;

use age_core::format::{FILE_KEY_BYTES, FileKey, Stanza};
use age_core::secrecy::ExposeSecret;
use age_plugin::identity::{self, IdentityPluginV1};
use age_plugin::recipient::{self, RecipientPluginV1};
use age_plugin::{Callbacks, PluginHandler, run_state_machine};

const TAG: &str = "sesametest";
const PIN: &str = "1234";

/// One recipient or identity: its mode and the bytes that mask the file key.
#[derive(Clone)]
struct Key {
    mode: u8,
    pad: Vec<u8>,
}

impl Key {
    fn parse(bytes: &[u8]) -> Option<Key> {
        let (&mode, pad) = bytes.split_first()?;
        (mode <= 2 && !pad.is_empty()).then(|| Key {
            mode,
            pad: pad.to_vec(),
        })
    }

    /// Which stanza is this key's: the pad, as hex (test-only: it is the "secret").
    fn label(&self) -> String {
        self.pad.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn mask(&self, bytes: &[u8]) -> Vec<u8> {
        bytes
            .iter()
            .zip(self.pad.iter().cycle())
            .map(|(b, p)| b ^ p)
            .collect()
    }
}

#[derive(Default)]
struct Plugin {
    recipients: Vec<Key>,
    identities: Vec<(usize, Key)>,
}

impl RecipientPluginV1 for Plugin {
    fn add_recipient(
        &mut self,
        index: usize,
        _: &str,
        bytes: &[u8],
    ) -> Result<(), recipient::Error> {
        let key = Key::parse(bytes).ok_or_else(|| recipient::Error::Recipient {
            index,
            message: "not a sesametest recipient".into(),
        })?;
        self.recipients.push(key);
        Ok(())
    }

    fn add_identity(&mut self, index: usize, _: &str, _: &[u8]) -> Result<(), recipient::Error> {
        Err(recipient::Error::Identity {
            index,
            message: "the test plugin encrypts to recipients only".into(),
        })
    }

    fn labels(&mut self) -> HashSet<String> {
        HashSet::new()
    }

    fn wrap_file_keys(
        &mut self,
        file_keys: Vec<FileKey>,
        _: impl Callbacks<recipient::Error>,
    ) -> io::Result<Result<Vec<Vec<Stanza>>, Vec<recipient::Error>>> {
        let stanzas = file_keys
            .iter()
            .map(|file_key| {
                self.recipients
                    .iter()
                    .map(|key| Stanza {
                        tag: TAG.into(),
                        args: vec![key.mode.to_string(), key.label()],
                        body: key.mask(file_key.expose_secret()),
                    })
                    .collect()
            })
            .collect();
        Ok(Ok(stanzas))
    }
}

impl IdentityPluginV1 for Plugin {
    fn add_identity(&mut self, index: usize, _: &str, bytes: &[u8]) -> Result<(), identity::Error> {
        let key = Key::parse(bytes).ok_or_else(|| identity::Error::Identity {
            index,
            message: "not a sesametest identity".into(),
        })?;
        self.identities.push((index, key));
        Ok(())
    }

    fn unwrap_file_keys(
        &mut self,
        files: Vec<Vec<Stanza>>,
        mut callbacks: impl Callbacks<identity::Error>,
    ) -> io::Result<HashMap<usize, Result<FileKey, Vec<identity::Error>>>> {
        let mut out = HashMap::new();
        for (file, stanzas) in files.iter().enumerate() {
            for stanza in stanzas.iter().filter(|s| s.tag == TAG) {
                let Some((index, key)) = self
                    .identities
                    .iter()
                    .find(|(_, k)| stanza.args.get(1) == Some(&k.label()))
                else {
                    continue;
                };
                let refuse = |message: &str| {
                    Err(vec![identity::Error::Identity {
                        index: *index,
                        message: message.into(),
                    }])
                };
                let result = match key.mode {
                    2 => refuse("the sesametest plugin fails on purpose"),
                    1 => match callbacks.request_secret("Test PIN for age-plugin-sesametest:")? {
                        Ok(pin) if pin.expose_secret() == PIN => unmask(key, &stanza.body),
                        Ok(_) => refuse("wrong PIN"),
                        Err(_) => refuse("no PIN was given"),
                    },
                    _ => unmask(key, &stanza.body),
                };
                out.insert(file, result);
                break;
            }
        }
        Ok(out)
    }
}

fn unmask(key: &Key, body: &[u8]) -> Result<FileKey, Vec<identity::Error>> {
    let bytes = key.mask(body);
    let array: [u8; FILE_KEY_BYTES] = bytes.try_into().map_err(|_| {
        vec![identity::Error::Internal {
            message: "a stanza body of the wrong length".into(),
        }]
    })?;
    Ok(FileKey::new(Box::new(array)))
}

struct Handler;

impl PluginHandler for Handler {
    type RecipientV1 = Plugin;
    type IdentityV1 = Plugin;

    fn recipient_v1(self) -> io::Result<Plugin> {
        Ok(Plugin::default())
    }

    fn identity_v1(self) -> io::Result<Plugin> {
        Ok(Plugin::default())
    }
}

fn main() -> io::Result<()> {
    let Some(state_machine) =
        std::env::args().find_map(|a| a.strip_prefix("--age-plugin=").map(str::to_string))
    else {
        eprintln!("age-plugin-sesametest is run by age clients (--age-plugin=STATE_MACHINE)");
        std::process::exit(2);
    };
    run_state_machine(&state_machine, Handler)
}
