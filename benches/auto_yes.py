#!/usr/bin/env python3
"""An approval console that answers `y` to every request: runs `sesame unlock --confirm` on a
pseudo-terminal of its own and types `y` + Enter each time a request is shown. For
benches/approval.sh only (it measures what an approval costs besides the person's reaction).

Usage: auto_yes.py SESAME_BINARY   (the vault and passphrase come from the environment; runs until
the agent ends, e.g. `sesame lock`)."""
import os
import pty
import select
import sys

PROMPT = b"allow? "

pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "unlock", "--confirm"])
seen = b""
while True:
    ready, _, _ = select.select([fd], [], [], 1.0)
    if not ready:
        continue
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    seen = (seen + chunk)[-4096:]
    if b"Approval console:" in seen and not os.environ.get("_ANNOUNCED"):
        os.environ["_ANNOUNCED"] = "1"
        print("console ready", flush=True)
    while PROMPT in seen:
        seen = seen.split(PROMPT, 1)[1]
        os.write(fd, b"y\n")
os.waitpid(pid, 0)
