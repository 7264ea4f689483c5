//! The committed test vectors (`tests/vectors/`): every build must open them, and the
//! intermediate keys documented in `docs/FORMAT.md` must come out of the documented steps.

use std::path::PathBuf;

use serde_json::{Value, json};

use super::harness::*;
use sesame::crypto::{derive_kek, hkdf_key, open};
use sesame::format::read::parse_file;
use sesame::format::{PAYLOAD_INFO, SLOT_KIND_PASSPHRASE, Slot, slot_aad};

fn vector_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Follows docs/FORMAT.md step by step with nothing but the primitives, and returns the
/// intermediate values a second implementation can check itself against.
fn derive_by_the_document(file: &[u8], passphrase: &str) -> Value {
    let parsed = parse_file(file).unwrap();
    let h = &parsed.header;
    let Slot::Passphrase(slot) = &h.slots[0] else {
        panic!("the vector's first slot is a passphrase slot")
    };
    let kek = derive_kek(passphrase.as_bytes(), &slot.salt, slot.kdf).unwrap();
    let aad = slot_aad(&h.vault_id, h.key_generation, SLOT_KIND_PASSPHRASE);
    let data_key = open(&kek, &slot.nonce, &aad, &slot.wrapped_key).unwrap();
    let data_key: [u8; 32] = data_key[..].try_into().unwrap();
    let payload_key = hkdf_key(&data_key, &h.payload_salt, PAYLOAD_INFO);
    let plaintext = open(
        &payload_key,
        &h.payload_nonce,
        parsed.header_bytes,
        parsed.ciphertext,
    )
    .expect("the payload authenticates");
    json!({
        "vault_id": hex(&h.vault_id),
        "key_generation": h.key_generation,
        "kdf": { "memory_kib": slot.kdf.memory_kib, "iterations": slot.kdf.iterations,
                 "parallelism": slot.kdf.parallelism },
        "slot_salt": hex(&slot.salt),
        "slot_aad": hex(&aad),
        "kek": hex(&kek[..]),
        "data_key": hex(&data_key),
        "payload_salt": hex(&h.payload_salt),
        "payload_key": hex(&payload_key[..]),
        "header_length": parsed.header_bytes.len(),
        "plaintext": hex(&plaintext),
    })
}

fn load(name: &str) -> (Vec<u8>, Value) {
    let file = std::fs::read(vector_dir().join(format!("{name}.sesame"))).unwrap();
    let expected: Value =
        serde_json::from_slice(&std::fs::read(vector_dir().join(format!("{name}.json"))).unwrap())
            .unwrap();
    (file, expected)
}

#[test]
fn the_v1_vector_yields_the_documented_intermediate_values() {
    let (file, expected) = load("v1-basic");
    let passphrase = expected["passphrase"].as_str().unwrap();
    let derived = derive_by_the_document(&file, passphrase);
    for (key, value) in derived.as_object().unwrap() {
        assert_eq!(&expected["derived"][key], value, "{key}");
    }
}

#[test]
fn the_v1_vector_opens_with_the_binary() {
    let (file, expected) = load("v1-basic");
    let sb = Sandbox::empty();
    std::fs::create_dir_all(sb.vault.parent().unwrap()).unwrap();
    std::fs::write(&sb.vault, &file).unwrap();
    let pass = expected["passphrase"].as_str().unwrap();
    let run = |args: &[&str]| {
        let out = sb
            .cmd()
            .env("SESAME_PASSPHRASE", pass)
            .args(args)
            .assert()
            .success();
        out.get_output().stdout.clone()
    };
    let list: Value = serde_json::from_slice(&run(&["list", "--json"])).unwrap();
    let secrets = expected["secrets"].as_array().unwrap();
    assert_eq!(list.as_array().unwrap().len(), secrets.len());
    for (row, want) in list.as_array().unwrap().iter().zip(secrets) {
        for key in [
            "label",
            "env",
            "note",
            "rotate_every",
            "version",
            "created",
            "updated",
        ] {
            assert_eq!(row[key], want[key], "{key} of {}", want["label"]);
        }
        let label = want["label"].as_str().unwrap();
        let value = run(&["get", "-n", label]);
        assert_eq!(value, want["value"].as_str().unwrap().as_bytes(), "{label}");
    }
}

/// Writes `tests/vectors/<name>.json` from a vault made by hand (see docs/FORMAT.md).
/// `cargo test -- --ignored write_vector_json` after changing the vector on purpose only.
#[test]
#[ignore]
fn write_vector_json() {
    let name = "v1-basic";
    let passphrase = "sesame test vector";
    let file = std::fs::read(vector_dir().join(format!("{name}.sesame"))).unwrap();
    let sb = Sandbox::empty();
    std::fs::create_dir_all(sb.vault.parent().unwrap()).unwrap();
    std::fs::write(&sb.vault, &file).unwrap();
    let list: Value = serde_json::from_slice(
        &sb.cmd()
            .env("SESAME_PASSPHRASE", passphrase)
            .args(["list", "--json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let mut secrets = Vec::new();
    for row in list.as_array().unwrap() {
        let label = row["label"].as_str().unwrap();
        let value = sb
            .cmd()
            .env("SESAME_PASSPHRASE", passphrase)
            .args(["get", "-n", label])
            .output()
            .unwrap()
            .stdout;
        let mut row = row.clone();
        row["value"] = Value::String(String::from_utf8(value).unwrap());
        for volatile in ["overdue", "rotation_due", "last_used", "history"] {
            row.as_object_mut().unwrap().remove(volatile);
        }
        secrets.push(row);
    }
    let doc = json!({
        "description": "A format-1 vault made by sesame 0.1.0 with --kdf-memory 8MiB --kdf-iterations 1 --kdf-parallelism 1.",
        "passphrase": passphrase,
        "derived": derive_by_the_document(&file, passphrase),
        "secrets": secrets,
    });
    std::fs::write(
        vector_dir().join(format!("{name}.json")),
        serde_json::to_string_pretty(&doc).unwrap() + "\n",
    )
    .unwrap();
}
