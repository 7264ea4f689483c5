//! The format vector of kind 5 (`docs/FORMAT.md`) and the body and key-type rules.

use super::*;

/// The body in `docs/FORMAT.md`, "Kind 5": the key of `tests/vectors/ssh-agent-slot-ed25519`,
/// made 2026-01-01T00:00:00Z, salt 202122...3f, nonce 404142...4b, for vault id 000102...0f,
/// key generation 1 and data key 808182...9f.
const VECTOR: &str = "33000000000b7373682d6564323535313900000020eef529698eaf249c801824f6adaa\
    e3e435cce617d4c4fac567fa32570fdaf26600b9556900000000202122232425262728\
    292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b\
    4ca63206a1816db30df942c68b841eb638b3a01943089725278081aabaabaca06d5e32\
    56ec7cdd8665d825dd252c60c4";

/// The agent's signature blob over the vector's challenge (ed25519 signatures are
/// deterministic: `ssh-agent` with that key answers exactly this).
const SIGNATURE: &str = "0000000b7373682d6564323535313900000040e8e01f083b5f23c382132e3fd805df08\
    fd1fe31835bca343281c4c5f806ecb71c0cc3c46acb9891cfd587730f26638773dc195\
    5071f68f26f0bf6f016bad2707";

use crate::slots::unhex;

#[test]
fn the_format_test_vector_parses_round_trips_and_opens() -> std::result::Result<(), String> {
    let body = unhex(VECTOR);
    assert_eq!(body.len(), 153);
    let slot = AgentSlot::parse(&body)?;
    assert_eq!(slot.encode(), body);
    assert_eq!(crate::units::format_time(slot.created), "2026-01-01T00:00:00Z");
    let public = include_str!("../../../tests/vectors/ssh-agent-slot-ed25519.pub");
    assert_eq!(
        public.split(' ').nth(1),
        Some(base64::engine::general_purpose::STANDARD.encode(&slot.key).as_str())
    );
    let vault_id: [u8; 16] = core::array::from_fn(|i| i as u8);
    let challenge = challenge(&vault_id, &slot.salt);
    assert_eq!(challenge.len(), 25 + 16 + 32);
    assert!(challenge.starts_with(b"sesame ssh-agent slot v1\0"));
    let kek = crypto::hkdf_key_from(&unhex(SIGNATURE), &slot.salt, KEK_INFO);
    let aad = super::super::slot_aad(&vault_id, 1, KIND);
    let key = super::super::unwrap_key(&kek, &slot.nonce, &aad, &slot.wrapped)
        .ok_or("the vector does not unwrap")?;
    let expected: [u8; KEY_LEN] = core::array::from_fn(|i| 0x80 + i as u8);
    assert_eq!(key.expose(), &expected);
    // Another vault's id is another challenge, so another signature and key.
    let other = crypto::hkdf_key_from(&unhex(SIGNATURE), &[0; SALT_LEN], KEK_INFO);
    assert!(super::super::unwrap_key(&other, &slot.nonce, &aad, &slot.wrapped).is_none());
    Ok(())
}

#[test]
fn a_damaged_or_non_deterministic_key_body_is_refused() {
    let body = unhex(VECTOR);
    let mut trailing = body.clone();
    trailing.push(0);
    let mut ecdsa = body.clone();
    ecdsa[6..17].copy_from_slice(b"ecdsa-sha2-");
    let mut sk = body.clone();
    sk[6..9].copy_from_slice(b"sk-");
    for bad in [&body[..body.len() - 1], &trailing, &ecdsa, &sk, &[][..]] {
        assert!(AgentSlot::parse(bad).is_err());
    }
}

#[test]
fn agent_answers_that_end_early_are_errors_not_panics() {
    for bad in [&[][..], &[0, 0, 0], &[0, 0, 0, 9, 1], &[255, 255, 255, 255]] {
        let mut pos = 0;
        assert!(ssh_string(bad, &mut pos).is_err());
    }
}
