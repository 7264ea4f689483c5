//! The format vector of kind 4 (`docs/FORMAT.md`), body checks and recipient rules.

use super::*;

/// The vector in `docs/FORMAT.md`, "Kind 4": slot `age`, made 2026-01-01T00:00:00Z, to the
/// recipient of `tests/vectors/age-slot-identity.txt`, for vault id 000102...0f, key
/// generation 1 and data key 808182...9f.
const VECTOR: &str = "0361676500b955690000000001003e0061676531637a77683334326e616a36346e6a6e\
    64366b6439756c636578756b71706b6d6a776d30773863356e6c637830717168786876\
    7173777634797a683e016167652d656e6372797074696f6e2e6f72672f76310a2d3e20\
    583235353139204a317a743477425a59582b5634637144374f6d334246314963485a45\
    61584d4a4851323678744f367745380a576346454b754c306d53626a69675639795542\
    4a63316b524975416a6976536471327a42325669784b4c510a2d3e20273b522d677265\
    617365205b3166564b6b3f270a53644b4b726e445365542b4832477445324a76646542\
    534843770a2d2d2d206d675374676c5a4c55766e6648317a346c524879306e5072756b\
    4a704638334173557566454c654f5761770a5dabf8d4d5612b6256eff59f9ab2a98930\
    a7fb61eefffee0df1d57ecab087d9b34457e683763fa7bdf3fd8cb0bdfb38ee7f38bdd\
    d0be72abc0c39b8151956106d23b7630418d8c95e8b8ba9e927019ce9567e10a3bcb3c\
    6ed6d65e97d5ebb5415b4004e7";

use crate::slots::unhex;

fn identity() -> Vec<Box<dyn age::Identity + Send + Sync>> {
    let file = include_bytes!("../../../tests/vectors/age-slot-identity.txt");
    age::IdentityFile::from_buffer(&file[..])
        .and_then(|f| f.into_identities().map_err(std::io::Error::other))
        .unwrap_or_default()
}

fn unwrapper() -> AgeUnwrapper {
    AgeUnwrapper {
        identities: identity(),
        files: "age-slot-identity.txt".into(),
    }
}

#[test]
fn the_format_test_vector_parses_round_trips_and_opens() -> std::result::Result<(), String> {
    let body = unhex(VECTOR);
    assert_eq!(body.len(), 398);
    let slot = AgeSlot::parse(&body)?;
    assert_eq!(slot.name, "age");
    assert_eq!(crate::units::format_time(slot.created), "2026-01-01T00:00:00Z");
    assert_eq!(
        slot.recipients,
        ["age1czwh342naj64njnd6kd9ulcexukqpkmjwm0w8c5nlcx0qqhxhvqswv4yzh"]
    );
    assert_eq!(slot.encode()?, body);
    let aad = super::super::slot_aad(&core::array::from_fn(|i| i as u8), 1, KIND);
    let key = unwrapper()
        .unwrap(&body, &aad, Path::new("vector"))
        .map_err(|e| e.to_string())?;
    let expected: [u8; KEY_LEN] = core::array::from_fn(|i| 0x80 + i as u8);
    assert_eq!(key.expose(), &expected);
    Ok(())
}

#[test]
fn the_vector_opened_for_another_vault_or_generation_is_refused() {
    let body = unhex(VECTOR);
    let other_vault = super::super::slot_aad(&[9; 16], 1, KIND);
    let next_generation = super::super::slot_aad(&core::array::from_fn(|i| i as u8), 2, KIND);
    for aad in [other_vault, next_generation] {
        let refused = unwrapper().unwrap(&body, &aad, Path::new("vector"));
        assert!(matches!(refused, Err(Error::SlotMoved { .. })));
    }
}

#[test]
fn a_damaged_age_body_is_refused() {
    let body = unhex(VECTOR);
    let mut trailing = body.clone();
    trailing.push(0);
    let mut bad_name = body.clone();
    bad_name[1] = b'/';
    let mut no_recipients = body.clone();
    no_recipients[12..14].copy_from_slice(&[0, 0]);
    for bad in [&body[..body.len() - 1], &trailing, &bad_name, &no_recipients, &[][..]] {
        assert!(AgeSlot::parse(bad).is_err());
    }
}

#[test]
fn plugin_names_that_could_name_another_program_are_refused() {
    for good in ["yubikey", "fido2-hmac", "se", "tpm", "a_b.c"] {
        assert!(check_plugin_name(good).is_ok(), "{good}");
    }
    for bad in ["", "..", "../x", "a/b", "a\\b", "x+y", "a b", "é"] {
        assert!(check_plugin_name(bad).is_err(), "{bad}");
    }
}

#[test]
fn ssh_recipients_keep_type_and_key_and_refuse_ecdsa_and_sk() {
    let key = "AAAAC3NzaC1lZDI1NTE5AAAAIN0YAr8OSCHY0KQDa9sdM8poyhx9qnc61KOMsKqEbng0";
    let with_comment = format!("ssh-ed25519 {key} me@laptop");
    assert_eq!(
        canonical_recipient(&with_comment),
        Ok(format!("ssh-ed25519 {key}"))
    );
    assert!(canonical_recipient("ecdsa-sha2-nistp256 AAAA").is_err());
    assert!(canonical_recipient("sk-ssh-ed25519@openssh.com AAAA").is_err());
    assert!(canonical_recipient("age1notarecipient").is_err());
}
