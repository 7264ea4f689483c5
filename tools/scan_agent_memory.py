#!/usr/bin/env python3
"""Counts the copies of a key in a running process's memory (for checking the sesame agent).

The agent should hold its data key exactly once, in its locked buffer. This reads every readable
mapping of /proc/PID/mem and counts occurrences of the key's bytes. The agent is non-dumpable, so
this needs root (CAP_SYS_PTRACE). The key is given in hex and never printed.

    sudo python3 tools/scan_agent_memory.py PID HEXKEY       # prints: copies=N
    sudo python3 tools/scan_agent_memory.py PID HEXKEY -v    # also each mapping holding a copy

Exit 0 after printing the count, 1 if the process memory cannot be read.
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


def count_in_mapping(mem, start, end, needle):
    """Occurrences of `needle` in [start, end), read in chunks that overlap by len(needle) - 1."""
    count = 0
    tail = b""
    offset = start
    while offset < end:
        size = min(CHUNK, end - offset)
        try:
            mem.seek(offset)
            data = mem.read(size)
        except OSError:
            return count  # an unreadable page (guard page, I/O mapping): skip the rest
        window = tail + data
        pos = window.find(needle)
        while pos != -1:
            count += 1
            pos = window.find(needle, pos + 1)
        tail = window[-(len(needle) - 1):] if len(needle) > 1 else b""
        offset += size
    return count


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    pid, key = int(argv[1]), bytes.fromhex(argv[2])
    verbose = "-v" in argv[3:]
    total = 0
    try:
        with open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
            for start, end, description in readable_mappings(pid):
                n = count_in_mapping(mem, start, end, key)
                if n and verbose:
                    print(f"{n} in {description}")
                total += n
    except OSError as e:
        print(f"cannot read the memory of {pid}: {e}", file=sys.stderr)
        return 1
    print(f"copies={total}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
