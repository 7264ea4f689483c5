#!/usr/bin/env python3
"""Counts the copies of secrets in a running process's memory: the sesame agent, or the sesame
process that stays to mask a command's output (`sesame run --mask -- CMD`).

The agent should hold its data key exactly once, in its locked buffer. This reads every readable
mapping of /proc/PID/mem and counts occurrences of each needle's bytes. sesame is non-dumpable,
so this needs root (CAP_SYS_PTRACE). Needles are given in hex and never printed.

    sudo python3 tools/scan_agent_memory.py PID HEXKEY       # prints: copies=N
    sudo python3 tools/scan_agent_memory.py PID HEXKEY -v    # also each mapping holding a copy
    sudo python3 tools/scan_agent_memory.py PID key=HEX passphrase=HEX value1=HEX ...
                                                             # prints: key copies=N, one a line

Exit 0 after printing the counts, 1 if the process memory cannot be read.
"""

import sys

CHUNK = 1 << 20


def readable_mappings(pid):
    """(start, end, description) of each readable mapping, skipping [vvar] (reading it faults)."""
    with open(f"/proc/{pid}/maps") as maps:
        for line in maps:
            fields = line.split()
            start, end = (int(x, 16) for x in fields[0].split("-"))
            perms = fields[1]
            name = fields[5] if len(fields) > 5 else "[anonymous]"
            if perms[0] != "r" or name in ("[vvar]", "[vvar_vclock]"):
                continue
            yield start, end, f"{fields[0]} {perms} {name}"


def count_in_mapping(mem, start, end, needles):
    """Occurrences of each needle in [start, end), read in chunks that overlap by the longest
    needle's length - 1."""
    counts = [0] * len(needles)
    keep = max(len(n) for n in needles) - 1
    tail = b""
    offset = start
    while offset < end:
        size = min(CHUNK, end - offset)
        try:
            mem.seek(offset)
            data = mem.read(size)
        except OSError:
            return counts  # an unreadable page (guard page, I/O mapping): skip the rest
        window = tail + data
        for i, needle in enumerate(needles):
            # Only matches ending in the new data: those within the tail were counted before.
            pos = window.find(needle, max(0, len(tail) - len(needle) + 1))
            while pos != -1:
                counts[i] += 1
                pos = window.find(needle, pos + 1)
        tail = window[-keep:] if keep else b""
        offset += size
    return counts


def main(argv):
    args = [a for a in argv[1:] if a != "-v"]
    verbose = "-v" in argv[1:]
    if len(args) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    pid = int(args[0])
    # (name or None for the one-key form, bytes)
    needles = []
    for arg in args[1:]:
        name, _, hexed = arg.rpartition("=")
        needles.append((name or None, bytes.fromhex(hexed)))
    if any(not needle for _, needle in needles):
        print("an empty needle", file=sys.stderr)
        return 2
    totals = [0] * len(needles)
    try:
        with open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
            for start, end, description in readable_mappings(pid):
                counts = count_in_mapping(mem, start, end, [n for _, n in needles])
                for i, ((name, _), n) in enumerate(zip(needles, counts)):
                    if n and verbose:
                        print(f"{name + ': ' if name else ''}{n} in {description}")
                    totals[i] += n
    except OSError as e:
        print(f"cannot read the memory of {pid}: {e}", file=sys.stderr)
        return 1
    for (name, _), total in zip(needles, totals):
        print(f"{name + ' ' if name else ''}copies={total}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
