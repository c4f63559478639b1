#!/usr/bin/env python3
"""Compares two preprocessed C headers (gcc -E -P -dD output) as sets of
declarations, ignoring layout, comments and declaration order.

Each top-level declaration (split at ';' outside braces) and each macro
directive becomes one normalised token string; the two multisets must be
equal. Prints the differences and exits 1 when they are not.
"""
import collections
import re
import sys

TOKEN = re.compile(
    r'[A-Za-z_]\w*|0[xX][0-9a-fA-F]+[uUlL]*|\d+[uUlL]*|"(?:\\.|[^"\\])*"'
    r"|'(?:\\.|[^'\\])*'|->|<<|>>|\.\.\.|[^\s\w]"
)


def items(path):
    out = collections.Counter()
    code = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.lstrip().startswith("#"):
                out[" ".join(TOKEN.findall(line))] += 1
            else:
                code.append(line)
    depth, cur = 0, []
    for tok in TOKEN.findall("".join(code)):
        cur.append(tok)
        if tok in "{([":
            depth += 1
        elif tok in "})]":
            depth -= 1
        elif tok == ";" and depth == 0:
            out[" ".join(cur)] += 1
            cur = []
    if cur:
        out[" ".join(cur)] += 1
    return out


def main():
    ours, theirs = items(sys.argv[1]), items(sys.argv[2])
    missing = theirs - ours
    extra = ours - theirs
    for d in sorted(missing.elements()):
        print(f"  only upstream: {d}")
    for d in sorted(extra.elements()):
        print(f"  only ours:     {d}")
    n = sum(theirs.values())
    if missing or extra:
        return 1
    print(f"  {n} declarations/directives identical")
    return 0


if __name__ == "__main__":
    sys.exit(main())
