#!/usr/bin/env python3
"""Writes src/strength/data/ from the zxcvbn crate's sources (frequency_lists.rs and
adjacency_graphs.rs), the lists sesame's passphrase-strength estimate uses.

    python3 tools/extract_strength_data.py ~/.cargo/registry/src/*/zxcvbn-3.1.1

Each list becomes one word per line in rank order (line 1 is rank 1); each keyboard graph one
line per key (see src/strength/data/README.md for the format). Run again only to re-import.
"""
import pathlib
import re
import sys

LISTS = {  # constant in frequency_lists.rs -> file name
    "PASSWORDS": "passwords.txt",
    "ENGLISH_WIKI": "english_wikipedia.txt",
    "FEMALE_NAMES": "female_names.txt",
    "MALE_NAMES": "male_names.txt",
    "SURNAMES": "surnames.txt",
    "US_TV_AND_FILM": "us_tv_and_film.txt",
}
GRAPHS = {"QWERTY": "qwerty", "DVORAK": "dvorak", "KEYPAD": "keypad", "MAC_KEYPAD": "mac_keypad"}
ESCAPES = {"\\'": "'", '\\"': '"', "\\\\": "\\"}


def unescape(literal):
    return re.sub(r"\\.", lambda m: ESCAPES[m.group(0)], literal)


def main():
    crate = pathlib.Path(sys.argv[1])
    out = pathlib.Path(__file__).resolve().parent.parent / "src" / "strength" / "data"
    lists = (crate / "src" / "frequency_lists.rs").read_text()
    for const, name in LISTS.items():
        found = re.search(r'const %s: &str = "((?:[^"\\]|\\.)*)";' % const, lists)
        words = unescape(found.group(1)).split(",")
        (out / name).write_text("\n".join(words) + "\n")
        print(name, len(words))
    graphs = (crate / "src" / "adjacency_graphs.rs").read_text()
    for const, name in GRAPHS.items():
        body = re.search(r"static ref %s: .*?\n    \};" % const, graphs, re.S).group(0)
        lines = []
        for key, slots in re.findall(r"table\.insert\(\s*'((?:[^'\\]|\\.))',\s*vec!\[(.*?)\],?\s*\);", body, re.S):
            cells = re.findall(r'None|Some\("((?:[^"\\]|\\.)*)"\)', slots)
            raw = re.findall(r'None|Some\(', slots)
            row = [unescape(c) if r != "None" else "none" for c, r in zip(cells, raw)]
            lines.append(" ".join([unescape(key)] + row))
        lines.sort()
        (out / (name + ".txt")).write_text("\n".join(lines) + "\n")
        print(name, len(lines))


if __name__ == "__main__":
    main()
