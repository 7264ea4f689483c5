#!/usr/bin/env python3
"""Checks that the independent reader (tools/read_vault.py) opens what this build of sesame writes.

The committed vectors fix old files; this makes a new one with the binary under test, touching every
part of the payload (history, notes, periods, profiles, removed secrets and profiles, values sealed
for approval, ancestry, a format 1 file upgraded by its first write), and compares what the reader
finds with what was written.

    python3 tools/reader_roundtrip.py target/debug/sesame
"""

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from read_vault import open_vault  # noqa: E402

PASSPHRASE = "reader round trip passphrase"
FAST = ["--kdf-memory", "8MiB", "--kdf-iterations", "1"]


def main(binary):
    work = tempfile.mkdtemp(prefix="sesame-reader-")
    try:
        run_checks(os.path.abspath(binary), work)
    finally:
        shutil.rmtree(work)


def run_checks(binary, work):
    passfile = os.path.join(work, "passphrase")
    with open(passfile, "w") as f:
        f.write(PASSPHRASE + "\n")
    os.chmod(passfile, 0o600)
    vault = os.path.join(work, "vault.sesame")
    env = {"PATH": "/usr/bin:/bin", "HOME": work, "XDG_RUNTIME_DIR": work,
           "SESAME_VAULT": vault, "SESAME_PASSPHRASE_FILE": passfile,
           "SESAME_NEW_PASSPHRASE_FILE": passfile}

    def sesame(*args, value=None, ok=(0,)):
        done = subprocess.run([binary, *args], env=env, input=value, capture_output=True,
                              stdin=None if value is not None else subprocess.DEVNULL)
        if done.returncode not in ok:
            sys.exit(f"sesame {' '.join(args)}: exit {done.returncode}: {done.stderr.decode()}")
        return done

    sesame("init", *FAST, "--allow-weak")
    sesame("add", "openai/prod", "--note", "username=ci", "--rotate-every", "90d", value=b"sk-one")
    sesame("rotate", "openai/prod", value=b"sk-two")
    sesame("add", "github/token", value=b"ghp-first")
    sesame("add", "stripe/key", value=b"sk_live_confirmed")
    sesame("rotate", "stripe/key", value=b"sk_live_confirmed_2")
    sesame("add", "gone/soon", value=b"short-lived")
    sesame("rm", "gone/soon")
    sesame("profile", "set", "dev", "OPENAI_API_KEY=openai/prod", "GH=github/token")
    sesame("profile", "set", "old", "X=github/token")
    sesame("profile", "rm", "old")
    sesame("edit", "stripe/key", "--confirm")
    before = open(vault, "rb").read()
    sesame("edit", "github/token", "--env", "GITHUB_TOKEN")

    data = open(vault, "rb").read()
    got = open_vault(data, passphrase=PASSPHRASE)
    want_fail = []

    def expect(condition, what):
        if not condition:
            want_fail.append(what)

    expect(got["format"] == 2, "format 2")
    secrets = {s["label"]: s for s in got["secrets"]}
    expect(set(secrets) == {"openai/prod", "github/token", "stripe/key"}, "the three labels")
    openai = secrets.get("openai/prod", {})
    expect(openai.get("current", {}).get("value") == "sk-two", "openai current value")
    expect([v["value"] for v in openai.get("history", [])] == ["sk-one"], "openai history")
    expect(openai.get("note") == "username=ci", "note")
    expect(openai.get("rotate_every") == 90 * 86400, "rotation period")
    expect(secrets.get("github/token", {}).get("env") == "GITHUB_TOKEN", "edited env name")
    stripe = secrets.get("stripe/key", {})
    versions = [stripe.get("current", {})] + stripe.get("history", [])
    expect([v.get("value") for v in versions] == ["sk_live_confirmed_2", "sk_live_confirmed"],
           "stripe values (sealed ones opened with the data key)")
    expect(stripe.get("flags", 0) & 1 == 1, "confirm flag")
    expect(all(v.get("sealed") for v in versions), "stripe's versions sealed")
    expect([t["label"] for t in got["tombstones"]] == ["gone/soon"], "tombstone")
    expect([p["name"] for p in got["profiles"]] == ["dev"], "profile dev")
    expect([p["name"] for p in got["removed_profiles"]] == ["old"], "removed profile old")
    expect(got["ancestry"][:1] == [hashlib.sha256(before).hexdigest()],
           "ancestry names the replaced file")

    # A format 1 file: opened as written, then upgraded by its first write.
    here = os.path.dirname(os.path.abspath(__file__))
    old = os.path.join(work, "old.sesame")
    shutil.copy(os.path.join(here, "..", "tests", "vectors", "v1-basic.sesame"), old)
    with open(passfile, "w") as f:
        f.write("sesame test vector\n")
    env["SESAME_VAULT"] = old
    v1 = open_vault(open(old, "rb").read(), passphrase="sesame test vector")
    sesame("edit", "openai/prod", "--note", "upgraded")
    v2 = open_vault(open(old, "rb").read(), passphrase="sesame test vector")
    expect(v1["format"] == 1 and v2["format"] == 2, "format 1 upgraded to 2")
    values = lambda c: sorted((s["label"], v["number"], v["value"])  # noqa: E731
                              for s in c["secrets"] for v in [s["current"]] + s["history"])
    expect(values(v1) == values(v2), "every version of the format 1 file kept")

    if want_fail:
        sys.exit("independent reader round trip failed: " + "; ".join(want_fail))
    print(f"independent reader opened a new format 2 vault ({len(data)} bytes, with sealed "
          f"values) and an upgraded format 1 vector")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "target/debug/sesame")
