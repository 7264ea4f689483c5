use zeroize::Zeroizing;

use super::*;
use crate::vault::{Id, Secret, Stamps, StoredValue, Version};

fn plain(bytes: &[u8]) -> StoredValue {
    StoredValue::Plain(SecretValue::new(Zeroizing::new(bytes.to_vec())))
}

fn secret(label: &str) -> Secret {
    Secret {
        id: Id::derived(&[label.as_bytes()]),
        confirm: false,
        conflict: false,
        stamps: Stamps::all(1),
        forgotten: Vec::new(),
        label: Label::parse(label).unwrap_or_else(|_| unreachable!()),
        env_name: EnvName::parse("API_KEY").unwrap_or_else(|_| unreachable!()),
        note: None,
        rotate_every: None,
        created: 1,
        updated: 1,
        current: Version {
            id: Id::derived(&[label.as_bytes(), b"1"]),
            number: 1,
            value: plain(b"value"),
            created: 1,
            retired: None,
        },
        history: Vec::new(),
    }
}

fn vault(labels: &[&str]) -> Vault {
    Vault {
        secrets: labels.iter().map(|l| secret(l)).collect(),
        ..Vault::default()
    }
}

/// Audit 1 (low): `encode` did not check the rules `decode` enforces, so a library caller
/// could seal a vault (duplicate or unsorted labels) that the same build then refused to open
/// as damaged (exit 4). Now such a vault is never encoded.
#[test]
fn a_vault_that_breaks_a_payload_rule_is_never_encoded() {
    for (labels, rule) in [
        (&["a", "a"][..], "a label repeats"),
        (&["b", "a"], "not sorted"),
    ] {
        match encode(&vault(labels)) {
            Ok(_) => panic!("{labels:?} was encoded"),
            Err(e) => assert!(e.contains("was not saved") && e.contains(rule), "{e}"),
        }
    }
    let mut numbered_0 = vault(&["a"]);
    numbered_0.secrets[0].current.number = 0;
    assert!(encode(&numbered_0).is_err());
    let mut unretired = vault(&["a"]);
    let old = std::mem::replace(&mut unretired.secrets[0].current.number, 2);
    unretired.secrets[0].history.push(Version {
        id: Id::derived(&[b"old"]),
        number: old,
        value: plain(b"old"),
        created: 0,
        retired: None,
    });
    assert!(encode(&unretired).is_err_and(|e| e.contains("retirement")));
}

#[test]
fn what_encode_accepts_decode_accepts() -> Result<(), String> {
    let bytes = encode(&vault(&["a", "b/c", "d"]))?;
    let back = decode(&bytes, PAYLOAD_V2)?;
    let labels: Vec<&str> = back.secrets.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(labels, ["a", "b/c", "d"]);
    assert_eq!(&encode(&back)?[..], &bytes[..]);
    Ok(())
}

/// The format 2 vector of `docs/FORMAT.md` ("Payload encoding", format 2): one secret needing
/// approval with a plain current value and a sealed old one, a tombstone, a profile, a removed
/// profile and one ancestor.
fn v2_vector() -> Vault {
    let label = |s: &str| Label::parse(s).unwrap_or_else(|_| unreachable!());
    Vault {
        ancestry: vec![[0xaa; 32]],
        secrets: vec![Secret {
            id: Id([0x11; 16]),
            confirm: true,
            conflict: false,
            stamps: Stamps {
                label: 1,
                env_name: 1,
                note: 1,
                rotate_every: 1,
                confirm: 2,
                conflict: 1,
                current: 2,
            },
            forgotten: vec![Id([0x33; 16])],
            label: label("k"),
            env_name: EnvName::parse("K").unwrap_or_else(|_| unreachable!()),
            note: None,
            rotate_every: None,
            created: 1,
            updated: 2,
            current: Version {
                id: Id([0x22; 16]),
                number: 2,
                value: plain(b"v"),
                created: 2,
                retired: None,
            },
            history: vec![Version {
                id: Id([0x44; 16]),
                number: 1,
                value: StoredValue::Sealed(crate::vault::SealedValue(vec![0x55; 45])),
                created: 1,
                retired: Some(2),
            }],
        }],
        tombstones: vec![crate::vault::Tombstone {
            id: Id([0x66; 16]),
            label: label("gone"),
            removed: 3,
            versions: vec![Id([0x77; 16])],
            stamps: Stamps::all(2),
        }],
        profiles: vec![crate::vault::Profile {
            name: label("dev"),
            updated: 4,
            bindings: vec![crate::vault::Binding {
                env_name: EnvName::parse("K").unwrap_or_else(|_| unreachable!()),
                label: label("k"),
            }],
        }],
        removed_profiles: vec![crate::vault::ProfileTombstone {
            name: label("old"),
            removed: 5,
        }],
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn the_format_2_vector_encodes_as_docs_format_md_says() -> Result<(), String> {
    let bytes = encode(&v2_vector())?;
    let expected = [
        "0100000000000000", // ancestry: 1 hash
        &"aa".repeat(32),   //   SHA-256 of the replaced file
        "0100000000000000", // secrets: 1
        &"11".repeat(16),   //   id
        "01000000",         //   flags: confirm
        "0100000000000000",
        "6b", //   label "k"
        "0100000000000000",
        "4b", //   env_name "K"
        "00",
        "00", //   note, rotate_every: None
        "0100000000000000",
        "0200000000000000", // created 1, updated 2
        "0100000000000000",
        "0100000000000000",
        "0100000000000000",
        "0100000000000000",
        "0200000000000000",
        "0100000000000000",
        "0200000000000000", // stamps
        &"22".repeat(16),
        "02000000", //   current: id, number 2
        "00000000",
        "0100000000000000",
        "76", //   plain "v"
        "0200000000000000",
        "00",               //   created 2, retired None
        "0100000000000000", //   history: 1
        &"44".repeat(16),
        "01000000", //   id, number 1
        "01000000",
        "2d00000000000000",
        &"55".repeat(45), // sealed, 45 bytes
        "0100000000000000",
        "010200000000000000", // created 1, retired Some(2)
        "0100000000000000",
        &"33".repeat(16),   //   forgotten: 1 id
        "0100000000000000", // tombstones: 1
        &"66".repeat(16),
        "0400000000000000",
        "676f6e65", // id, label "gone"
        "0300000000000000",
        "0100000000000000",
        &"77".repeat(16),
        &"0200000000000000".repeat(7), // removed, versions, stamps
        "0100000000000000",            // profiles: 1
        "0300000000000000",
        "646576",
        "0400000000000000", // "dev", updated 4
        "0100000000000000",
        "0100000000000000",
        "4b",
        "0100000000000000",
        "6b",               // K=k
        "0100000000000000", // removed profiles: 1
        "0300000000000000",
        "6f6c64",
        "0500000000000000", // "old", removed 5
    ]
    .concat();
    assert_eq!(hex(&bytes), expected);
    let back = decode(&bytes, PAYLOAD_V2)?;
    assert_eq!(&encode(&back)?[..], &bytes[..]);
    assert!(back.secrets[0].confirm && back.secrets[0].history[0].value.plain().is_none());
    Ok(())
}

/// "Other bits are reserved and MUST be zero on read."
#[test]
fn a_reserved_flag_bit_is_refused_as_damage() -> Result<(), String> {
    let mut bytes = encode(&v2_vector())?;
    // The flags follow the ancestry (8 + 32), the secret count (8) and the id (16).
    let at = 8 + 32 + 8 + 16;
    bytes[at] |= 0x04;
    let refused = decode(&bytes, PAYLOAD_V2).err().unwrap_or_default();
    assert!(refused.contains("reserved flag"), "{refused}");
    Ok(())
}

/// Format 1 had none of the ids; the ones derived at upgrade are the same on every copy, so
/// two copies upgraded apart still merge by id.
#[test]
fn a_format_1_payload_gets_the_same_ids_on_every_upgrade() -> Result<(), String> {
    let v1 = [
        "0100000000000000",
        "0100000000000000",
        "6b",
        "0100000000000000",
        "4b",
        "00",
        "00",
        "0100000000000000",
        "0100000000000000",
        "01000000",
        "0100000000000000",
        "76",
        "0100000000000000",
        "00",
        "0000000000000000",
        "0000000000000000",
    ]
    .concat();
    let bytes: Vec<u8> = (0..v1.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&v1[i..i + 2], 16).unwrap_or_default())
        .collect();
    let a = decode(&bytes, PAYLOAD_V1)?;
    let b = decode(&bytes, PAYLOAD_V1)?;
    assert_eq!(a.secrets[0].id, b.secrets[0].id);
    assert_eq!(a.secrets[0].current.id, b.secrets[0].current.id);
    assert!(!a.secrets[0].id.is_unassigned());
    let upgraded = encode(&a)?;
    assert_eq!(
        hex(&encode(&decode(&upgraded, PAYLOAD_V2)?)?),
        hex(&upgraded)
    );
    Ok(())
}
