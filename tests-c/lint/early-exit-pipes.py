#!/usr/bin/env python3
"""Flags pipelines whose reader may exit before its writer is done.

Under `set -o pipefail` such a pipeline fails at random: the reader (grep -q,
grep -m, head, sed with q, awk with exit, ...) exits, the writer gets SIGPIPE
and its status 141 becomes the pipeline's. Read the writer's whole output
instead (`grep -q PAT <<<"$(cmd)"`, or a temporary file).

Usage: early-exit-pipes.py FILE...  Prints FILE:LINE: text for every hit and
exits 1 if there is any. A line ending in `# lint: pipe-ok` is exempt
(for a reader that provably reads everything; say why next to it).
"""
import re
import sys

# A reader stage that can stop reading early.
EARLY = [
    (re.compile(r"^grep\b.*\s(-[A-Za-z]*[qml]\w*|--quiet|--silent|--max-count\S*|--files-with(out)?-match\S*)(\s|$)"), "grep that stops at the first match"),
    (re.compile(r"^(head|cmp|read|true|:)(\s|$)"), "reader that stops early"),
    (re.compile(r"^sed\b.*(['\"\s;{]|^)[0-9$/]*[qQ]\b"), "sed with a quit command"),
    (re.compile(r"^awk\b.*\bexit\b"), "awk with exit"),
]
# Words that may prefix the reader command.
PREFIX = re.compile(r"^(\s*(!|command|exec|env|nice|timeout\s+\S+|[A-Za-z_][A-Za-z0-9_]*=\S*)\s+)+")


def logical_lines(text):
    """Joins lines continued by a trailing backslash or pipe."""
    start, buf = None, ""
    for no, line in enumerate(text.splitlines(), 1):
        if start is None:
            start = no
        stripped = strip_comment(line).rstrip()
        if stripped.endswith("\\"):
            buf += stripped[:-1] + " "
            continue
        if (stripped.endswith("|") and not stripped.endswith("||")) or stripped.endswith("|&"):
            buf += stripped + " "
            continue
        yield start, buf + line
        start, buf = None, ""
    if buf:
        yield start, buf


def strip_comment(line):
    """Drops a '#' comment that is outside quotes (roughly, as lint needs)."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t;"):
            return line[:i]
    return line


def segments(code):
    """Splits shell code into (separator, command text) pairs.

    Quotes are respected, and $(...) opens a nested command even inside
    double quotes. The separator is what precedes the command: "|" for a
    stage that reads a pipe.
    """
    out, buf, sep = [], "", ""
    stack = ["code"]
    i = 0
    while i < len(code):
        ch, two = code[i], code[i:i + 2]
        state = stack[-1]
        if ch == "\\":
            buf += code[i:i + 2]
            i += 2
            continue
        if state == '"':
            if two == "$(":
                out.append((sep, buf))
                buf, sep = "", "("
                stack.append("code")
                i += 2
                continue
            if ch == '"':
                stack.pop()
            buf += ch
            i += 1
            continue
        # code
        if ch == "'":
            j = code.find("'", i + 1)
            j = len(code) if j < 0 else j
            buf += code[i:j + 1]
            i = j + 1
            continue
        if ch == '"':
            stack.append('"')
            buf += ch
            i += 1
            continue
        if ch == "#" and (not buf or buf[-1] in " \t"):
            break
        for token in ("||", "&&", "|&", "$(", "<(", ">(", "|", ";", "(", ")", "`", "&"):
            if code.startswith(token, i):
                out.append((sep, buf))
                buf, sep = "", token
                if token in ("$(", "<(", ">("):
                    stack.append("code")
                elif token == ")" and len(stack) > 1:
                    stack.pop()
                i += len(token)
                break
        else:
            buf += ch
            i += 1
    out.append((sep, buf))
    return out


def stages(code):
    """Yields the commands that read from a pipe."""
    for sep, text in segments(code):
        if sep in ("|", "|&"):
            yield text.strip()


def check(path):
    hits = 0
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    for no, line in logical_lines(text):
        if "# lint: pipe-ok" in line:
            continue
        for stage in stages(line):
            cmd = PREFIX.sub("", stage)
            for pat, what in EARLY:
                if pat.search(cmd):
                    print(f"{path}:{no}: {what} after a pipe: {line.strip()}")
                    hits += 1
                    break
    return hits


def main():
    total = sum(check(p) for p in sys.argv[1:])
    if total:
        print(f"{total} pipeline(s) may fail at random under pipefail (SIGPIPE);"
              " read the whole output instead, e.g. grep -q PAT <<<\"$(cmd)\"")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
