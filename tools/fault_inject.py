#!/usr/bin/env python3
"""Fault injection for sesame's writes (docs/SECURITY.md, "Fault injection").

Two experiments, each on a fresh vault per run, with the real binary:

1. kill -9 at a random moment during every write command (add, rotate, rm, passwd, rekey, backup,
   restore, import). The delay is uniform over the command's own measured duration, so kills land
   in the key derivation, the automatic generation, the temp-file write, the rename and the log
   append alike.
2. every write command into a nearly full file system: a small tmpfs (mounted here, which needs
   root) filled to leave 0, 4, 8 … KiB free. Without permission to mount, a file-size limit
   (RLIMIT_FSIZE, writes fail with EFBIG) stands in for the full disk; the output says which ran.

After each run the checks are the user's: the vault opens and holds exactly the state before the
command or the state after it (names and values, compared with `export --plaintext`), `sesame log`
works, `sesame verify` passes on every copy in `backups/` and `backups/auto/`, and the next write
succeeds (no lock or temp file left behind blocks it). Any other outcome is a failure, printed with
the run's folder kept for inspection.

Usage: tools/fault_inject.py [--sesame target/debug/sesame] [--kills-per-command 40]
                             [--seed N] [--no-full-disk]
Exit status 0 when every run ended in the old or the new state.
"""

import argparse
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

PASS = "fault injection passphrase"
NEW_PASS = "fault injection new passphrase"
FAST_KDF = ["--kdf-memory", "8MiB", "--kdf-iterations", "1", "--kdf-parallelism", "1"]
DOTENV = "IMPORTED_ONE=value-one\nIMPORTED_TWO='value two'\nIMPORTED_PEM=\"-----BEGIN-----\\nabc\\n-----END-----\"\n"

# Each write command: its arguments, stdin, and the passphrase it leaves the vault under.
COMMANDS = {
    "add": (["add", "new-secret"], "a-new-value", PASS),
    "rotate": (["rotate", "alpha"], "alpha-rotated", PASS),
    "rm": (["rm", "beta"], "", PASS),
    "passwd": (["passwd"] + FAST_KDF, "", NEW_PASS),
    "rekey": (["rekey", "--no-recovery"] + FAST_KDF, "", PASS),
    "backup": (["backup"], "", PASS),
    "restore": (["restore", "--force", "COPY"], "", PASS),
    "import": (["import", "--dotenv", "DOTENV"], "", PASS),
}


class Sandbox:
    """A folder holding a vault, its backups and a private runtime folder."""

    def __init__(self, sesame, root):
        self.sesame = sesame
        self.root = root
        self.vault = os.path.join(root, "data", "vault.sesame")
        self.copy = os.path.join(root, "early-copy.sesame")
        self.dotenv = os.path.join(root, "import.env")

    def env(self, passphrase=PASS):
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": self.root,
            "XDG_RUNTIME_DIR": os.path.join(self.root, "run"),
            "SESAME_VAULT": self.vault,
            "SESAME_PASSPHRASE": passphrase,
            "SESAME_NEW_PASSPHRASE": NEW_PASS,
            "SESAME_AUTO_BACKUPS": "5",
        }

    def argv(self, args):
        return [self.sesame] + [
            self.copy if a == "COPY" else self.dotenv if a == "DOTENV" else a for a in args
        ]

    def run(self, args, stdin="", passphrase=PASS, preexec=None):
        return subprocess.run(
            self.argv(args),
            input=stdin.encode(),
            env=self.env(passphrase),
            cwd=self.root,
            capture_output=True,
            timeout=60,
            preexec_fn=preexec,
        )

    def start(self, args, stdin=""):
        p = subprocess.Popen(
            self.argv(args),
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=self.env(),
            cwd=self.root,
        )
        p.stdin.write(stdin.encode())
        p.stdin.close()
        return p

    def must(self, args, stdin="", passphrase=PASS):
        r = self.run(args, stdin, passphrase)
        if r.returncode != 0:
            raise RuntimeError(f"setup `{' '.join(args)}` failed: {r.stderr.decode(errors='replace')}")
        return r

    def contents(self):
        """The names and values the vault holds, and the passphrase that opened it; None if it
        opens with neither passphrase."""
        for passphrase in (PASS, NEW_PASS):
            r = self.run(["export", "--dotenv", "--plaintext"], passphrase=passphrase)
            if r.returncode == 0:
                return r.stdout, passphrase
        return None, None

    def copies(self):
        out = []
        for sub in ("backups", os.path.join("backups", "auto")):
            folder = os.path.join(os.path.dirname(self.vault), sub)
            if os.path.isdir(folder):
                out += [
                    os.path.join(folder, n)
                    for n in sorted(os.listdir(folder))
                    if n.endswith(".sesame") and os.path.isfile(os.path.join(folder, n))
                ]
        return out


def make_template(sesame, root):
    """A vault with a few secrets, some history, a usage log, a manual copy and a dotenv file."""
    os.makedirs(root)
    sb = Sandbox(sesame, root)
    sb.must(["init", "--no-recovery"] + FAST_KDF)
    sb.must(["add", "alpha"], "alpha-value")
    sb.must(["add", "beta"], "beta-value")
    sb.must(["backup", sb.copy])
    sb.must(["add", "gamma"], "gamma-value")
    sb.must(["rotate", "gamma"], "gamma-value-2")
    sb.must(["run", "--all", "--", "true"])  # a usage event in the log
    with open(sb.dotenv, "w") as f:
        f.write(DOTENV)
    return sb


def clone(template, root):
    shutil.copytree(template.root, root, symlinks=True)
    return Sandbox(template.sesame, root)


def check(sb, old, new):
    """The checks after a fault; returns (outcome, problem). outcome is 'old' or 'new'."""
    contents, passphrase = sb.contents()
    if contents is None:
        return None, "the vault does not open with either passphrase"
    if (contents, passphrase) == old:
        outcome = "old"
    elif (contents, passphrase) == new:
        outcome = "new"
    else:
        return None, "the vault holds neither the old nor the new state"
    r = sb.run(["log"], passphrase=passphrase)
    if r.returncode != 0:
        return None, f"`sesame log` fails: {r.stderr.decode(errors='replace').strip()}"
    for copy in sb.copies():
        if not any(sb.run(["verify", copy], passphrase=p).returncode == 0 for p in (PASS, NEW_PASS)):
            return None, f"`sesame verify {os.path.basename(copy)}` fails"
    r = sb.run(["add", "after-the-fault"], "x", passphrase=passphrase)
    if r.returncode != 0:
        return None, f"the next write fails: {r.stderr.decode(errors='replace').strip()}"
    return outcome, None


EXPECTED = {}


def expected_states(template, workdir, name):
    """The state before and after `name` completes, and how long it takes (median of 3)."""
    if name not in EXPECTED:
        EXPECTED[name] = measure(template, workdir, name)
    return EXPECTED[name]


def measure(template, workdir, name):
    args, stdin, _ = COMMANDS[name]
    old = clone(template, os.path.join(workdir, f"expect-{name}-old")).contents()
    durations = []
    for i in range(3):
        sb = clone(template, os.path.join(workdir, f"expect-{name}-{i}"))
        t = time.monotonic()
        sb.must(args, stdin)
        durations.append(time.monotonic() - t)
        new = sb.contents()
    return old, new, sorted(durations)[1]


def kill_runs(template, workdir, per_command, rng, failures):
    counts = {}
    for name, (args, stdin, _) in COMMANDS.items():
        old, new, duration = expected_states(template, workdir, name)
        tally = {"runs": 0, "old": 0, "new": 0, "finished": 0, "failed": 0}
        for i in range(per_command):
            root = os.path.join(workdir, f"kill-{name}-{i}")
            sb = clone(template, root)
            # Half the kills anywhere in the command's run, half in its last third, where the
            # generation, the temp file, the rename and the log append happen.
            if i % 2 == 0:
                delay = rng.uniform(0, duration * 1.1)
            else:
                delay = rng.uniform(duration * 0.67, duration * 1.05)
            p = sb.start(args, stdin)
            time.sleep(delay)
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
            else:
                tally["finished"] += 1
            p.wait()
            outcome, problem = check(sb, old, new)
            tally["runs"] += 1
            if problem:
                tally["failed"] += 1
                failures.append(f"kill -9 during {name} after {delay * 1000:.1f} ms: {problem} ({root})")
            else:
                tally[outcome] += 1
                shutil.rmtree(root)
        counts[name] = tally
        same = " (this command changes no name or value: old = new)" if old == new else ""
        print(
            f"kill -9 during {name:8} ({duration * 1000:5.1f} ms): {tally['runs']} runs, "
            f"{tally['old']} old state, {tally['new']} new state, "
            f"{tally['finished']} finished before the kill, {tally['failed']} failed{same}",
            flush=True,
        )
    return counts


def fill(folder, leave_kib):
    """Fills the file system of `folder` so that about `leave_kib` KiB stay free."""
    filler = os.path.join(folder, "filler")
    st = os.statvfs(folder)
    free = st.f_bavail * st.f_frsize
    size = max(0, free - leave_kib * 1024)
    with open(filler, "wb") as f:
        f.truncate(0)
        chunk = b"\0" * (1 << 20)
        while size > 0:
            n = min(size, len(chunk))
            f.write(chunk[:n])
            size -= n


def full_disk_runs(template, workdir, failures):
    """Every write command with 0-64 KiB free on a small tmpfs (or under a file-size limit)."""
    mount = os.path.join(workdir, "small-fs")
    os.makedirs(mount)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", mount], capture_output=True
    ).returncode == 0
    print(
        "nearly full file system: "
        + ("an 8 MiB tmpfs, filled to leave 0-64 KiB" if mounted else
           "mount not permitted; a file-size limit (RLIMIT_FSIZE 0-64 KiB) stands in"),
        flush=True,
    )
    counts = {}
    try:
        for name, (args, stdin, _) in COMMANDS.items():
            old, new, _ = expected_states(template, workdir, name)
            tally = {"runs": 0, "old": 0, "new": 0, "refused": 0, "failed": 0}
            for leave in range(0, 68, 4):
                root = os.path.join(mount, "sb")
                sb = clone(template, root)
                preexec = None
                if mounted:
                    fill(mount, leave)
                else:
                    limit = leave * 1024

                    def preexec(limit=limit):
                        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
                        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

                r = sb.run(args, stdin, preexec=preexec)
                if r.returncode != 0:
                    tally["refused"] += 1
                    message = r.stderr.decode(errors="replace").strip().splitlines()
                    tally.setdefault("messages", set()).add(message[-1] if message else "(none)")
                # Free the space again before checking: the checks themselves write.
                filler = os.path.join(mount, "filler")
                if os.path.exists(filler):
                    os.remove(filler)
                outcome, problem = check(sb, old, new)
                tally["runs"] += 1
                if problem:
                    tally["failed"] += 1
                    kept = os.path.join(workdir, f"full-{name}-{leave}k")
                    shutil.copytree(root, kept, symlinks=True)
                    failures.append(f"{name} with {leave} KiB free: {problem} ({kept})")
                elif r.returncode == 0 and outcome != "new" and old != new:
                    tally["failed"] += 1
                    failures.append(f"{name} with {leave} KiB free: exit 0 but the old state")
                else:
                    tally[outcome] += 1
                shutil.rmtree(root)
            messages = sorted(tally.pop("messages", set()))
            counts[name] = tally
            for m in messages:
                print(f"  {name} refused: {m}")
            print(
                f"nearly full, {name:8}: {tally['runs']} runs, {tally['refused']} refused with an error, "
                f"{tally['old']} old state, {tally['new']} new state, {tally['failed']} failed",
                flush=True,
            )
    finally:
        if mounted:
            subprocess.run(["umount", mount])
    return counts


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sesame", default="target/debug/sesame")
    ap.add_argument("--kills-per-command", type=int, default=40)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--no-full-disk", action="store_true")
    ap.add_argument("--json", help="write the counts to this file")
    a = ap.parse_args()
    sesame = os.path.abspath(a.sesame)
    seed = a.seed if a.seed is not None else random.randrange(1 << 32)
    rng = random.Random(seed)
    print(f"sesame {sesame}, seed {seed}", flush=True)
    failures = []
    workdir = tempfile.mkdtemp(prefix="sesame-faults-")
    started = time.monotonic()
    template = make_template(sesame, os.path.join(workdir, "template"))
    result = {"seed": seed, "kill": kill_runs(template, workdir, a.kills_per_command, rng, failures)}
    if not a.no_full_disk:
        result["full_disk"] = full_disk_runs(template, workdir, failures)
    result["seconds"] = round(time.monotonic() - started)
    runs = sum(t["runs"] for part in ("kill", "full_disk") for t in result.get(part, {}).values())
    print(f"{runs} runs in {result['seconds']} s, {len(failures)} failed")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=1)
    for f in failures:
        print("FAILED:", f)
    if not failures:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"failed runs kept in {workdir}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
