#!/usr/bin/env python3
"""An independent reader of sesame vault files, written from docs/FORMAT.md alone (formats 1 and 2).

It shares no code with sesame: Argon2id from argon2-cffi, AES-256-GCM and HKDF-SHA256 from
cryptography. It exists to prove the format document is complete.

    pip install argon2-cffi cryptography
    python3 tools/read_vault.py VAULT PASSPHRASE           # prints the contents as JSON (values too!)
    python3 tools/read_vault.py VAULT --recovery CODE      # opens the recovery slot instead
"""

import hashlib
import json
import re
import struct
import sys

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"\x89SESAME\n"
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def recovery_key_material(typed):
    """Normalises a typed recovery code and checks its checksum; returns the 26 data symbols."""
    code = typed.upper().replace("-", "").replace(" ", "").replace("\t", "")
    code = code.replace("I", "1").replace("L", "1").replace("O", "0")
    if len(code) != 28 or any(c not in ALPHABET for c in code):
        raise ValueError("typo: not a recovery code")
    data = code[:26].encode()
    digest = hashlib.sha256(b"sesame recovery checksum" + data).digest()
    bits = (digest[0] << 2) | (digest[1] >> 6)
    if code[26:] != ALPHABET[bits >> 5] + ALPHABET[bits & 31]:
        raise ValueError("typo: checksum mismatch")
    return data


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise ValueError("truncated")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack("<H", self.take(2))[0]

    def u32(self):
        return struct.unpack("<I", self.take(4))[0]

    def u64(self):
        return struct.unpack("<Q", self.take(8))[0]

    def i64(self):
        return struct.unpack("<q", self.take(8))[0]

    def string(self):
        return self.take(self.u64()).decode("utf-8")

    def option(self, read):
        tag = self.u8()
        if tag not in (0, 1):
            raise ValueError("bad option tag")
        return read() if tag else None

    def vec(self, read):
        return [read() for _ in range(self.u64())]

    def bytes_(self):
        return self.take(self.u64())


def open_vault(data, passphrase=None, recovery=None):
    if len(data) > 256 * 1024 * 1024:
        raise ValueError("too large")
    r = Reader(data)
    if r.take(8) != MAGIC:
        raise ValueError("not a sesame vault")
    version = r.u16()
    if version > 2:
        raise ValueError(f"written by a newer sesame (format {version})")
    if version != 1 and version != 2:
        raise ValueError(f"unsupported format {version}")
    if r.u16() != 0:
        raise ValueError("flags set")
    vault_id = r.take(16)
    generation = r.u32()
    payload_salt = r.take(32)
    payload_nonce = r.take(12)
    payload_len = r.u32()
    slot_count = r.u16()
    if not 1 <= slot_count <= 16 or payload_len < 16:
        raise ValueError("bad header")
    slots = []
    for _ in range(slot_count):
        kind, length = r.u16(), r.u32()
        if length > 4096:
            raise ValueError("slot too long")
        slots.append((kind, r.take(length)))
    header = data[:r.pos]
    ciphertext = data[r.pos:]
    if len(ciphertext) != payload_len:
        raise ValueError("truncated or trailing bytes")

    def parse_transit_slot(body):
        """Kind 3 (bao-transit), FORMAT.md: address, mount, key name, created, ciphertext."""
        b = Reader(body)
        fields = []
        for what, cap in (("address", 512), ("mount", 512), ("key name", 512)):
            n = b.u16()
            if not 1 <= n <= cap:
                raise ValueError(f"bad transit slot: {what} length")
            fields.append(b.take(n).decode("utf-8"))
        b.take(8)  # created
        n = b.u16()
        if not 1 <= n <= 2048:
            raise ValueError("bad transit slot: ciphertext length")
        ciphertext = b.take(n)
        if b.pos != len(body) or not ciphertext.startswith(b"vault:v"):
            raise ValueError("bad transit slot")
        for name in fields[1:]:
            if any(seg in ("", ".", "..") for seg in name.split("/")):
                raise ValueError("bad transit slot: mount or key name")
        return fields

    def unwrap(kek, nonce, wrapped, kind):
        aad = b"sesame v1 slot" + vault_id + struct.pack("<IH", generation, kind)
        try:
            return AESGCM(kek).decrypt(nonce, wrapped, aad)
        except InvalidTag:
            return None  # wrong secret (or a damaged slot)

    # Every known slot is checked (length, KDF bounds) before any derivation; a bad one is damage.
    for kind, body in slots:
        if kind == 1:
            if len(body) != 104:
                raise ValueError("bad passphrase slot")
            m, t, p = struct.unpack("<III", body[:12])
            if not (1 <= p <= 64 and 1 <= t <= 100 and 8 * p <= m <= 4 * 1024 * 1024):
                raise ValueError("KDF parameters out of bounds")
        elif kind == 2 and len(body) != 92:
            raise ValueError("bad recovery slot")
        elif kind == 3:
            parse_transit_slot(body)  # recognised and checked; opening it needs OpenBao

    # Only the first slot of the kind being used is tried; other kinds (and unknown ones) are skipped.
    wanted = 2 if recovery is not None else 1
    body = next((b for k, b in slots if k == wanted), None)
    if body is None:
        raise ValueError(f"no slot of kind {wanted}")
    if wanted == 2:
        salt, nonce, wrapped = body[:32], body[32:44], body[44:92]
        kek = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt,
                   info=b"sesame v1 recovery").derive(recovery_key_material(recovery))
    else:
        m, t, p = struct.unpack("<III", body[:12])
        salt, nonce, wrapped = body[12:44], body[44:56], body[56:104]
        kek = hash_secret_raw(passphrase.encode(), salt, time_cost=t, memory_cost=m,
                              parallelism=p, hash_len=32, type=Type.ID, version=19)
    data_key = unwrap(kek, nonce, wrapped, wanted)
    if data_key is None:
        raise ValueError("wrong passphrase or recovery code")

    payload_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=payload_salt,
                       info=b"sesame v1 payload").derive(data_key)
    plaintext = AESGCM(payload_key).decrypt(payload_nonce, ciphertext, header)

    p = Reader(plaintext)

    def open_sealed(secret_id, version_id, sealed):
        """A Sealed value (format 2, "Values"): the data key opens it, no approval here."""
        salt, nonce, body = sealed[:16], sealed[16:28], sealed[28:]
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt,
                   info=b"sesame v2 confirmed value").derive(data_key)
        try:
            return AESGCM(key).decrypt(nonce, body, vault_id + secret_id + version_id)
        except InvalidTag:
            raise ValueError("damaged: a sealed value does not open") from None

    def value_v2():
        kind = p.u32()
        if kind not in (0, 1):
            raise ValueError("damaged: unknown value kind")
        return kind, p.bytes_()

    def version_(v2, secret_id=None):
        version_id = p.take(16) if v2 else None
        number = p.u32()
        kind, value = value_v2() if v2 else (0, p.bytes_())
        out = {"number": number, "created": None, "retired": None}
        if v2:
            out["id"] = version_id.hex()
            out["sealed"] = kind == 1
        if kind == 1:
            if not 45 <= len(value) <= 1024 * 1024 + 44:
                raise ValueError("damaged: sealed value length")
            value = open_sealed(secret_id, version_id, value)
        out["value"] = value.decode("utf-8", "replace")
        out["length"] = len(value)
        out["created"], out["retired"] = p.i64(), p.option(p.i64)
        return out

    def secret_v1():
        s = {"label": p.string(), "env": p.string(), "note": p.option(p.string),
             "rotate_every": p.option(p.u64), "created": p.i64(), "updated": p.i64()}
        s["current"] = version_(False)
        s["history"] = p.vec(lambda: version_(False))
        return s

    def secret_v2():
        secret_id = p.take(16)
        s = {"id": secret_id.hex(), "flags": p.u32(), "label": p.string(), "env": p.string(),
             "note": p.option(p.string), "rotate_every": p.option(p.u64), "created": p.i64(),
             "updated": p.i64()}
        s["stamps"] = dict(zip(STAMPS, [p.i64() for _ in STAMPS]))
        s["current"] = version_(True, secret_id)
        s["history"] = p.vec(lambda: version_(True, secret_id))
        s["forgotten"] = p.vec(lambda: p.take(16).hex())
        return s

    def tombstone():
        return {"id": p.take(16).hex(), "label": p.string(), "removed": p.i64(),
                "versions": p.vec(lambda: p.take(16).hex()),
                "stamps": dict(zip(STAMPS, [p.i64() for _ in STAMPS]))}

    def bindings():
        return p.vec(lambda: {"env": p.string(), "label": p.string()})

    if version == 1:
        contents = {"format": 1, "secrets": p.vec(secret_v1),
                    "profiles": p.vec(lambda: {"name": p.string(), "bindings": bindings()})}
    else:
        contents = {"format": 2, "ancestry": p.vec(lambda: p.take(32).hex()),
                    "secrets": p.vec(secret_v2), "tombstones": p.vec(tombstone),
                    "profiles": p.vec(lambda: {"name": p.string(), "updated": p.i64(),
                                               "bindings": bindings()}),
                    "removed_profiles": p.vec(lambda: {"name": p.string(),
                                                       "removed": p.i64()})}
    if p.pos != len(plaintext):
        raise ValueError("trailing bytes in payload")
    check(contents)
    return contents


LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,127}")
ENV = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
STAMPS = ("label", "env_name", "note", "rotate_every", "confirm", "conflict", "current")


ZERO_ID = "00" * 16


def check(contents):
    """The payload rules of FORMAT.md ("Payload encoding"); a violation is damage."""
    def ordered(names):
        keys = [n.encode() for n in names]
        return all(a < b for a, b in zip(keys, keys[1:]))
    secrets, profiles = contents["secrets"], contents["profiles"]
    if not ordered([s["label"] for s in secrets]) or not ordered([p["name"] for p in profiles]):
        raise ValueError("damaged: labels or profile names unsorted or repeated")
    for s in secrets:
        versions = [s["current"]] + s["history"]
        numbers = [v["number"] for v in versions]
        if (not LABEL.fullmatch(s["label"]) or not ENV.fullmatch(s["env"])
                or (s["note"] is not None and len(s["note"].encode()) > 1024)
                or s["rotate_every"] == 0 or 0 in numbers or len(set(numbers)) != len(numbers)
                or s["current"]["retired"] is not None
                or any(v["retired"] is None for v in s["history"])
                or any(not 1 <= v["length"] <= 1024 * 1024 for v in versions)):
            raise ValueError(f"damaged: secret {s['label']!r} breaks a payload rule")
    if contents["format"] == 2:
        ids = [s["id"] for s in secrets]
        tombs = [t["id"] for t in contents["tombstones"]]
        if ZERO_ID in ids or len(set(ids)) != len(ids) or not ordered(tombs):
            raise ValueError("damaged: secret ids zero or repeated, or tombstones unsorted")
        removed = [r["name"] for r in contents["removed_profiles"]]
        if not ordered(removed) or not all(LABEL.fullmatch(n) for n in removed) or not all(
                LABEL.fullmatch(t["label"]) for t in contents["tombstones"]):
            raise ValueError("damaged: removed profiles unsorted, or a bad removed label")
        for s in secrets:
            vids = [v["id"] for v in [s["current"]] + s["history"]]
            if s["flags"] & ~3 or ZERO_ID in vids or len(set(vids)) != len(vids):
                raise ValueError(f"damaged: secret {s['label']!r} breaks a format 2 rule")
    for p in profiles:
        if not LABEL.fullmatch(p["name"]) or any(
                not ENV.fullmatch(b["env"]) or not LABEL.fullmatch(b["label"])
                for b in p["bindings"]):
            raise ValueError(f"damaged: profile {p['name']!r} breaks a payload rule")
    for s in secrets:
        for v in [s["current"]] + s["history"]:
            del v["length"]


if __name__ == "__main__":
    with open(sys.argv[1], "rb") as f:
        data = f.read()
    if sys.argv[2] == "--recovery":
        print(json.dumps(open_vault(data, recovery=sys.argv[3]), indent=2))
    else:
        print(json.dumps(open_vault(data, passphrase=sys.argv[2]), indent=2))
