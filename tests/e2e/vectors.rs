//! The committed test vectors (`tests/vectors/`): every build must open them, and the
//! intermediate keys documented in `docs/FORMAT.md` must come out of the documented steps.

use std::path::PathBuf;

use serde_json::{Value, json};

use super::harness::*;
use sesame::crypto::{derive_kek, hkdf_key, hkdf_key_from, open};
use sesame::format::read::parse_file;
use sesame::format::{PAYLOAD_INFO, RECOVERY_INFO, Slot};
use sesame::recovery::RecoveryCode;
use sesame::slots::passphrase::{KIND as SLOT_KIND_PASSPHRASE, PassphraseSlot};
use sesame::slots::recovery::{KIND as SLOT_KIND_RECOVERY, RecoverySlot};
use sesame::slots::slot_aad;

/// (name, passphrase, recovery code)
const VECTORS: [(&str, &str, Option<&str>); 2] = [
    ("v1-basic", "sesame test vector", None),
    (
        "v1-history",
        "history vector",
        Some("Q9D3-M6V7-E72F-C5NH-H9YP-EWGC-6CZV"),
    ),
];

fn vector_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

/// Follows docs/FORMAT.md step by step with nothing but the primitives, and returns the
/// intermediate values a second implementation can check itself against.
fn derive_by_the_document(file: &[u8], passphrase: &str, recovery: Option<&str>) -> Value {
    let parsed = parse_file(file).unwrap();
    let h = &parsed.header;
    assert_eq!(
        h.slots[0].kind, SLOT_KIND_PASSPHRASE,
        "the vector's first slot is a passphrase slot"
    );
    let slot = PassphraseSlot::parse(&h.slots[0].body).unwrap();
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
    let mut out = json!({
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
    });
    if let Some(typed) = recovery {
        let Some(Slot {
            kind: SLOT_KIND_RECOVERY,
            body,
        }) = h.slots.get(1)
        else {
            panic!("the vector's second slot is a recovery slot")
        };
        let rslot = RecoverySlot::parse(body).unwrap();
        let code = RecoveryCode::parse(typed.as_bytes()).unwrap();
        let rkek = hkdf_key_from(code.key_material(), &rslot.salt, RECOVERY_INFO);
        let raad = slot_aad(&h.vault_id, h.key_generation, SLOT_KIND_RECOVERY);
        let unwrapped = open(&rkek, &rslot.nonce, &raad, &rslot.wrapped_key).unwrap();
        assert_eq!(
            &unwrapped[..],
            &data_key[..],
            "the recovery slot wraps the same data key"
        );
        out["recovery_key_material"] = json!(String::from_utf8_lossy(code.key_material()));
        out["recovery_slot_aad"] = json!(hex(&raad));
        out["recovery_kek"] = json!(hex(&rkek[..]));
    }
    out
}

fn load(name: &str) -> (Vec<u8>, Value) {
    let file = std::fs::read(vector_dir().join(format!("{name}.sesame"))).unwrap();
    let expected: Value =
        serde_json::from_slice(&std::fs::read(vector_dir().join(format!("{name}.json"))).unwrap())
            .unwrap();
    (file, expected)
}

/// A sandbox holding a copy of vector `name`.
fn sandbox_with(file: &[u8]) -> Sandbox {
    let sb = Sandbox::empty();
    std::fs::create_dir_all(sb.vault.parent().unwrap()).unwrap();
    std::fs::write(&sb.vault, file).unwrap();
    sb
}

fn stdout_of(sb: &Sandbox, pass: &str, args: &[&str]) -> Vec<u8> {
    let out = sb.with_pass(pass).args(args).succeeds();
    out.get_output().stdout.clone()
}

/// What the binary shows of a vault: `list --json` rows, each with its versions and values.
fn observed_contents(sb: &Sandbox, pass: &str) -> Vec<Value> {
    let list: Value = serde_json::from_slice(&stdout_of(sb, pass, &["list", "--json"])).unwrap();
    let mut secrets = Vec::new();
    for row in list.as_array().unwrap() {
        let label = row["label"].as_str().unwrap();
        let mut row = row.clone();
        let history: Value =
            serde_json::from_slice(&stdout_of(sb, pass, &["history", label, "--json"])).unwrap();
        let mut versions = Vec::new();
        for v in history.as_array().unwrap() {
            let n = v["version"].to_string();
            let value = stdout_of(sb, pass, &["get", "-n", label, "--version", &n]);
            let mut v = v.clone();
            v["value"] = Value::String(String::from_utf8(value).unwrap());
            versions.push(v);
        }
        row["versions"] = Value::Array(versions);
        for volatile in ["overdue", "rotation_due", "last_used", "use_count"] {
            row.as_object_mut().unwrap().remove(volatile);
        }
        // Format 1 has no approval mark: every secret of these vectors reads as unmarked, and
        // their recorded contents predate the field.
        assert_eq!(
            row.as_object_mut().unwrap().remove("confirm"),
            Some(Value::Bool(false)),
            "{label}"
        );
        secrets.push(row);
    }
    secrets
}

#[test]
fn the_vectors_yield_the_documented_intermediate_values() {
    for (name, passphrase, recovery) in VECTORS {
        let (file, expected) = load(name);
        assert_eq!(expected["passphrase"], passphrase);
        let derived = derive_by_the_document(&file, passphrase, recovery);
        for (key, value) in derived.as_object().unwrap() {
            assert_eq!(&expected["derived"][key], value, "{name}: {key}");
        }
    }
}

#[test]
fn the_vectors_open_with_the_binary_and_show_their_contents() {
    for (name, passphrase, _) in VECTORS {
        let (file, expected) = load(name);
        let sb = sandbox_with(&file);
        assert_eq!(
            Value::Array(observed_contents(&sb, passphrase)),
            expected["secrets"],
            "{name}"
        );
    }
}

/// Format 1 files open as they are and become format 2 on their first write, keeping every
/// secret, version, value and date; the upgraded file opens again.
#[test]
fn every_v1_vector_opens_and_its_first_write_upgrades_it_to_format_2() {
    for (name, passphrase, _) in VECTORS {
        let (file, expected) = load(name);
        assert_eq!(&file[8..10], &[1, 0], "{name} is a format 1 file");
        let sb = sandbox_with(&file);
        sb.with_pass(passphrase)
            .args(["add", "upgrade/marker"])
            .write_stdin("marker value\n")
            .assert()
            .success();
        let upgraded = sb.vault_bytes();
        assert_eq!(&upgraded[8..10], &[2, 0], "{name} was not upgraded");
        let mut seen = observed_contents(&sb, passphrase);
        seen.retain(|row| row["label"] != "upgrade/marker");
        assert_eq!(Value::Array(seen), expected["secrets"], "{name}");
    }
}

#[test]
fn the_history_vector_recovers_with_its_code() {
    let (name, _, Some(code)) = VECTORS[1] else {
        panic!("the second vector has a recovery code")
    };
    let (file, _) = load(name);
    let sb = sandbox_with(&file);
    sb.cmd()
        .env("SESAME_RECOVERY_CODE", code)
        .env("SESAME_NEW_PASSPHRASE", "after recovery")
        .arg("recover")
        .succeeds();
    stdout_of(&sb, "after recovery", &["list"]);
}

/// Rewrites `tests/vectors/<name>.json` from the committed vault files (see docs/FORMAT.md).
/// Run `cargo test -- --ignored write_vector_json` only after changing a vector on purpose.
#[test]
#[ignore]
fn write_vector_json() {
    for (name, passphrase, recovery) in VECTORS {
        let file = std::fs::read(vector_dir().join(format!("{name}.sesame"))).unwrap();
        let sb = sandbox_with(&file);
        let mut doc = json!({
            "description": "A format-1 vault made by sesame 0.1.0 with --kdf-memory 8MiB --kdf-iterations 1.",
            "passphrase": passphrase,
            "derived": derive_by_the_document(&file, passphrase, recovery),
            "secrets": observed_contents(&sb, passphrase),
        });
        if let Some(code) = recovery {
            doc["recovery_code"] = json!(code);
        }
        std::fs::write(
            vector_dir().join(format!("{name}.json")),
            serde_json::to_string_pretty(&doc).unwrap() + "\n",
        )
        .unwrap();
    }
}
