#!/usr/bin/env python3
"""Checks the shape of src/: no import cycles between its top-level modules, a short top
level, and no long function outside tests (but the ones named below).

A top-level module is each file or folder directly under src/ (lib.rs and main.rs aside).
Module A depends on B when a file of A names `crate::B` (in a path or a `use`, grouped
imports included) or reaches B through `super::`. A cycle is a set of modules that depend
on each other, directly or through others; inside a folder, a parent and its children may
refer to each other freely.

Usage: python3 scripts/check-layout.py [--src DIR] [--quiet]
Exits 1 with what is wrong, 0 with a summary.
"""

import argparse
import re
import sys
from pathlib import Path

MAX_TOP_LEVEL = 14
MAX_FUNCTION_LINES = 80
# Functions allowed past the limit, each because a table of cases reads better whole.
LONG_FUNCTIONS_ALLOWED: dict[str, str] = {
    "src/sources/cloudwatch_alarm/links.rs:resource": "one arm per namespace: the console link each kind of resource gets",
}

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


def module_path(src: Path, file: Path) -> list[str]:
    """The module path of `file` below the crate root: src/a/b.rs is [a, b], src/a/mod.rs [a]."""
    parts = list(file.relative_to(src).with_suffix("").parts)
    if parts[-1] == "mod":
        parts.pop()
    if parts in (["lib"], ["main"]):
        return []
    return parts


def strip_comments_and_strings(text: str) -> str:
    """The code without comments and string literals, which may mention `crate::` freely."""
    out = []
    i, n = 0, len(text)
    while i < n:
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
        elif text.startswith('r#"', i) or text.startswith('r"', i):
            hashes = 1 if text[i + 1] == "#" else 0
            end = '"' + "#" * hashes
            j = text.find(end, i + 2 + hashes)
            i = n if j < 0 else j + len(end)
            out.append('""')
        elif text[i] == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            i = j + 1
            out.append('""')
        elif text[i] == "'" and i + 2 < n and (text[i + 2] == "'" or text[i + 1] == "\\"):
            # A char literal ('x', '\n'), not a lifetime.
            j = text.find("'", i + 2)
            i = n if j < 0 else j + 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def group_heads(group: str) -> list[str]:
    """The first names of the paths in a `{a::b, c, d::{e, f}}` group."""
    heads, depth, current = [], 0, ""
    for ch in group:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            heads.append(current)
            current = ""
        elif depth == 0 or ch not in "{}":
            current += ch if depth == 0 else ""
    heads.append(current)
    names = []
    for h in heads:
        m = re.match(r"\s*(" + IDENT + ")", h)
        if m and m.group(1) != "self":
            names.append(m.group(1))
    return names


def references(code: str, here: list[str]) -> set[str]:
    """The top-level modules `code` (of the module at path `here`) names."""
    found = set()
    for m in re.finditer(r"\bcrate::(\{|" + IDENT + ")", code):
        if m.group(1) == "{":
            start = m.end()
            depth, j = 1, start
            while j < len(code) and depth:
                depth += {"{": 1, "}": -1}.get(code[j], 0)
                j += 1
            found.update(group_heads(code[start : j - 1]))
        else:
            found.add(m.group(1))
    for m in re.finditer(r"\b((?:super::)+)(\{|" + IDENT + ")", code):
        ups = m.group(1).count("super::")
        base = here[: max(len(here) - ups, 0)]
        if base:
            found.add(base[0])
        elif m.group(2) == "{":
            start = m.end()
            depth, j = 1, start
            while j < len(code) and depth:
                depth += {"{": 1, "}": -1}.get(code[j], 0)
                j += 1
            found.update(group_heads(code[start : j - 1]))
        else:
            found.add(m.group(2))
    return found


def without_tests(code: str) -> str:
    """`code` less its `#[cfg(test)]` items (test modules may reach anywhere)."""
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]", code):
        if m.start() < i:
            continue
        out.append(code[i : m.start()])
        brace = code.find("{", m.end())
        semi = code.find(";", m.end())
        if semi != -1 and (brace == -1 or semi < brace):
            i = semi + 1
            continue
        depth, j = 1, brace + 1
        while j < len(code) and depth:
            depth += {"{": 1, "}": -1}.get(code[j], 0)
            j += 1
        i = j
    out.append(code[i:])
    return "".join(out)


def long_functions(code: str, name: str) -> list[tuple[str, int]]:
    """Functions in `code` longer than the limit: (file:function, lines)."""
    found = []
    for m in re.finditer(r"\bfn\s+(" + IDENT + r")\b", code):
        brace = code.find("{", m.end())
        semi = code.find(";", m.end())
        if brace == -1 or (semi != -1 and semi < brace):
            continue  # a declaration without a body
        depth, j = 1, brace + 1
        while j < len(code) and depth:
            depth += {"{": 1, "}": -1}.get(code[j], 0)
            j += 1
        start = code.rfind("\n", 0, m.start()) + 1
        lines = code[start:j].count("\n") + 1
        if lines > MAX_FUNCTION_LINES:
            found.append((f"{name}:{m.group(1)}", lines))
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", default=str(Path(__file__).resolve().parent.parent / "src"))
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    src = Path(args.src)
    top = sorted(p.name for p in src.iterdir() if not p.name.startswith("."))
    modules = {Path(t).stem for t in top} - {"lib", "main"}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    evidence: dict[tuple[str, str], str] = {}
    too_long = []
    for file in sorted(src.rglob("*.rs")):
        here = module_path(src, file)
        code = without_tests(strip_comments_and_strings(file.read_text()))
        rel = str(file.relative_to(src.parent))
        for name, lines in long_functions(code, rel):
            if name not in LONG_FUNCTIONS_ALLOWED:
                too_long.append((name, lines))
        if not here:
            continue
        for target in references(code, here) & modules:
            if target != here[0]:
                graph[here[0]].add(target)
                evidence.setdefault((here[0], target), rel)
    problems = []
    if len(top) > MAX_TOP_LEVEL:
        problems.append(f"src/ holds {len(top)} entries, more than {MAX_TOP_LEVEL}: {', '.join(top)}")
    for comp in cycles(graph):
        edges = [
            f"  {a} -> {b} ({evidence[(a, b)]})"
            for a in comp
            for b in sorted(graph[a])
            if b in comp
        ]
        problems.append("an import cycle between " + ", ".join(comp) + ":\n" + "\n".join(edges))
    for name, lines in too_long:
        problems.append(f"{name} has {lines} lines, more than {MAX_FUNCTION_LINES}")
    if problems:
        print("layout check failed:\n" + "\n".join(problems))
        return 1
    if not args.quiet:
        print(f"layout ok: {len(top)} entries in src/, {len(modules)} top-level modules, no import cycle, no function over {MAX_FUNCTION_LINES} lines")
        for m in sorted(graph):
            print(f"  {m} -> {', '.join(sorted(graph[m])) or '(nothing)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
