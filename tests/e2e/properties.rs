//! Property tests on the library: the payload codec and the header round-trip, and the parser
//! returns an error (never panics) on arbitrary bytes.

use proptest::prelude::*;
use zeroize::Zeroizing;

use sesame::crypto::KdfParams;
use sesame::format::codec;
use sesame::format::read::parse_file;
use sesame::format::write::encode_header;
use sesame::format::{FORMAT_VERSION, Header, Slot};
use sesame::names::{EnvName, Label};
use sesame::secret::SecretValue;
use sesame::slots::passphrase::PassphraseSlot;
use sesame::vault::{Binding, Id, Profile, Secret, Stamps, StoredValue, Vault, Version};

// Proptest needs `Debug`, which the vault types deliberately lack: strategies produce plain
// data, and `build` turns it into a `Vault`.
#[derive(Debug, Clone)]
struct RawVersion(Vec<u8>, i64, i64);

#[derive(Debug, Clone)]
struct RawSecret {
    label: String,
    env: String,
    note: Option<String>,
    rotate_every: Option<u64>,
    created: i64,
    updated: i64,
    current: RawVersion,
    history: Vec<RawVersion>,
}

type RawProfile = (String, Vec<(String, String)>);

const LABEL: &str = "[a-zA-Z0-9][a-zA-Z0-9._/-]{0,40}";
const ENV: &str = "[A-Z_][A-Z0-9_]{0,20}";

fn raw_version() -> impl Strategy<Value = RawVersion> {
    (
        prop::collection::vec(any::<u8>(), 1..64),
        any::<i64>(),
        any::<i64>(),
    )
        .prop_map(|(v, c, r)| RawVersion(v, c, r))
}

fn raw_secret() -> impl Strategy<Value = RawSecret> {
    (
        (
            LABEL,
            ENV,
            prop::option::of(".{0,30}"),
            prop::option::of(1u64..u64::MAX),
        ),
        (any::<i64>(), any::<i64>()),
        raw_version(),
        prop::collection::vec(raw_version(), 0..4),
    )
        .prop_map(
            |((label, env, note, rotate_every), (created, updated), current, history)| RawSecret {
                label,
                env,
                note,
                rotate_every,
                created,
                updated,
                current,
                history,
            },
        )
}

fn raw_vault() -> impl Strategy<Value = (Vec<RawSecret>, Vec<RawProfile>)> {
    (
        prop::collection::vec(raw_secret(), 0..6),
        prop::collection::vec((LABEL, prop::collection::vec((ENV, LABEL), 0..3)), 0..3),
    )
}

fn version(raw: &RawVersion, number: u32, retired: bool) -> Version {
    Version {
        id: Id::derived(&[&number.to_le_bytes(), &raw.0]),
        number,
        value: StoredValue::Plain(SecretValue::new(Zeroizing::new(raw.0.clone()))),
        created: raw.1,
        retired: retired.then_some(raw.2),
    }
}

fn build((raw_secrets, raw_profiles): &(Vec<RawSecret>, Vec<RawProfile>)) -> Vault {
    let mut secrets: Vec<Secret> = raw_secrets
        .iter()
        .map(|r| Secret {
            id: Id::derived(&[r.label.as_bytes()]),
            confirm: r.created % 2 == 0,
            conflict: r.updated % 3 == 0,
            stamps: Stamps::all(r.updated),
            forgotten: Vec::new(),
            label: Label::parse(&r.label).unwrap(),
            env_name: EnvName::parse(&r.env).unwrap(),
            note: r.note.clone(),
            rotate_every: r.rotate_every,
            created: r.created,
            updated: r.updated,
            current: version(&r.current, 10, false),
            history: r
                .history
                .iter()
                .enumerate()
                .map(|(i, v)| version(v, 9 - i as u32, true))
                .collect(),
        })
        .collect();
    secrets.sort_by(|a, b| a.label.cmp(&b.label));
    secrets.dedup_by(|a, b| a.label == b.label);
    let mut profiles: Vec<Profile> = raw_profiles
        .iter()
        .map(|(name, bindings)| Profile {
            name: Label::parse(name).unwrap(),
            updated: 0,
            bindings: bindings
                .iter()
                .map(|(env, label)| Binding {
                    env_name: EnvName::parse(env).unwrap(),
                    label: Label::parse(label).unwrap(),
                })
                .collect(),
        })
        .collect();
    profiles.sort_by(|a, b| a.name.cmp(&b.name));
    profiles.dedup_by(|a, b| a.name == b.name);
    Vault {
        secrets,
        profiles,
        ..Vault::default()
    }
}

/// A comparable rendering of a vault (the types deliberately have no Debug or PartialEq).
fn summary(v: &Vault) -> Vec<String> {
    let mut out = Vec::new();
    for s in &v.secrets {
        out.push(format!(
            "{}|{}|{:?}|{:?}|{}|{}|{}|{}",
            s.label,
            s.env_name,
            s.note,
            s.rotate_every,
            s.created,
            s.updated,
            s.confirm,
            s.conflict
        ));
        for ver in std::iter::once(&s.current).chain(&s.history) {
            out.push(format!(
                "  {} {:?} {} {:?}",
                ver.number,
                ver.value.plain().map(SecretValue::expose),
                ver.created,
                ver.retired
            ));
        }
    }
    for p in &v.profiles {
        out.push(format!("profile {}", p.name));
        for b in &p.bindings {
            out.push(format!("  {}={}", b.env_name, b.label));
        }
    }
    out
}

proptest! {
    #[test]
    fn payload_encoding_round_trips(raw in raw_vault()) {
        let v = build(&raw);
        let bytes = codec::encode(&v).unwrap();
        let back = codec::decode(&bytes, codec::PAYLOAD_V2).unwrap();
        prop_assert_eq!(summary(&back), summary(&v));
        // Canonical: re-encoding gives the same bytes.
        prop_assert_eq!(&codec::encode(&back).unwrap()[..], &bytes[..]);
    }

    #[test]
    fn header_round_trips(
        id in any::<[u8; 16]>(),
        generation in any::<u32>(),
        salt in any::<[u8; 32]>(),
        nonce in any::<[u8; 12]>(),
        payload in prop::collection::vec(any::<u8>(), 16..64),
        unknown in prop::collection::vec((4u16..u16::MAX, prop::collection::vec(any::<u8>(), 0..40)), 0..4),
        m in 8u32..100_000, t in 1u32..=100, p in 1u32..=64,
    ) {
        let mut slots = vec![PassphraseSlot {
            kdf: KdfParams { memory_kib: m.max(8 * p), iterations: t, parallelism: p },
            salt,
            nonce,
            wrapped_key: [7; 48],
        }.to_slot()];
        slots.extend(unknown.into_iter().map(|(kind, body)| Slot { kind, body }));
        let header = Header {
            version: FORMAT_VERSION,
            vault_id: id,
            key_generation: generation,
            payload_salt: salt,
            payload_nonce: nonce,
            payload_len: payload.len() as u32,
            slots,
        };
        let mut file = encode_header(&header);
        let header_len = file.len();
        file.extend_from_slice(&payload);
        let parsed = parse_file(&file).unwrap();
        prop_assert_eq!(&parsed.header, &header);
        prop_assert_eq!(parsed.header_bytes.len(), header_len);
        prop_assert_eq!(parsed.ciphertext, &payload[..]);
    }

    #[test]
    fn the_parser_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = parse_file(&bytes);
        let mut with_magic = sesame::format::MAGIC.to_vec();
        with_magic.extend_from_slice(&bytes);
        let _ = parse_file(&with_magic);
        let _ = codec::decode(&bytes, codec::PAYLOAD_V1);
        let _ = codec::decode(&bytes, codec::PAYLOAD_V2);
    }
}
