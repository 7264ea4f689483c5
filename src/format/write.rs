//! Writing a vault file's header and slots: the mirror of `read`, byte for byte.

use super::{FIXED_HEADER_LEN, Header, MAGIC, Slot};

/// Encodes the header (fixed part, then every slot in order). These bytes are also the payload's
/// associated data, so they are produced once and used for both.
pub fn encode_header(header: &Header) -> Vec<u8> {
    let mut out = Vec::with_capacity(FIXED_HEADER_LEN + header.slots.len() * (6 + 128));
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&header.version.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes()); // flags: "MUST be 0"
    out.extend_from_slice(&header.vault_id);
    out.extend_from_slice(&header.key_generation.to_le_bytes());
    out.extend_from_slice(&header.payload_salt);
    out.extend_from_slice(&header.payload_nonce);
    out.extend_from_slice(&header.payload_len.to_le_bytes());
    // The slot list is capped at 16 when it is built, so the count always fits.
    out.extend_from_slice(&(header.slots.len() as u16).to_le_bytes());
    for slot in &header.slots {
        encode_slot(slot, &mut out);
    }
    out
}

fn encode_slot(slot: &Slot, out: &mut Vec<u8>) {
    out.extend_from_slice(&slot.kind.to_le_bytes());
    // Bodies are capped at 4096 bytes when parsed and built far smaller by the slot kinds.
    out.extend_from_slice(&(slot.body.len() as u32).to_le_bytes());
    out.extend_from_slice(&slot.body);
}
