//! Types that hold secret bytes: the passphrase, the data key and secret values.
//!
//! Each is a newtype over a zeroizing buffer, wiped when dropped. None of them implements `Debug`,
//! `Display`, `Clone` or `Serialize`, so a secret cannot reach a log line, an error message or a
//! file by accident; the bytes are reachable only through `expose()` where they are used.

use zeroize::Zeroizing;

/// Length of the data key and of every key derived from it.
pub const KEY_LEN: usize = 32;

/// A passphrase (or recovery code) as bytes, without its trailing newline.
pub struct Passphrase(Zeroizing<Vec<u8>>);

impl Passphrase {
    /// Takes ownership of the bytes; the caller's buffer is moved, never copied.
    pub fn new(bytes: Zeroizing<Vec<u8>>) -> Self {
        Passphrase(bytes)
    }

    /// Moves a `String` into a zeroizing buffer without reallocating.
    pub fn from_string(s: String) -> Self {
        Passphrase(Zeroizing::new(s.into_bytes()))
    }

    /// The passphrase's bytes, for the KDF only.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Whether the passphrase is empty (a new passphrase may not be).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The random 256-bit key that encrypts a vault's payload. It lives only in memory, on the heap:
/// moving a `DataKey` moves a pointer, so the key leaves no stray copies on the stack.
pub struct DataKey(Box<Zeroizing<[u8; KEY_LEN]>>);

impl DataKey {
    /// Takes ownership of the key bytes (fresh random, or unwrapped from a slot).
    pub fn from_bytes(bytes: Zeroizing<[u8; KEY_LEN]>) -> Self {
        let mut key = Box::new(Zeroizing::new([0u8; KEY_LEN]));
        key.copy_from_slice(&bytes[..]);
        DataKey(key)
    }

    /// The key from exactly [`KEY_LEN`] bytes, copied straight to the heap; `None` otherwise.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != KEY_LEN {
            return None;
        }
        let mut key = Box::new(Zeroizing::new([0u8; KEY_LEN]));
        key.copy_from_slice(bytes);
        Some(DataKey(key))
    }

    /// The key's bytes, to derive subkeys or wrap it in a slot.
    pub fn expose(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

/// A secret's value: 1 byte to 1 MiB of arbitrary bytes.
pub struct SecretValue(Zeroizing<Vec<u8>>);

impl SecretValue {
    /// Takes ownership of the bytes; the caller's buffer is moved, never copied.
    pub fn new(bytes: Zeroizing<Vec<u8>>) -> Self {
        SecretValue(bytes)
    }

    /// The value's bytes, where they are used (injected, printed by `get`, sealed).
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The value's length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the value is empty (the vault never stores an empty value).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A copy in a new zeroizing buffer; explicit, because copies of a secret should be rare.
    pub fn duplicate(&self) -> SecretValue {
        SecretValue(Zeroizing::new(self.0.to_vec()))
    }
}
