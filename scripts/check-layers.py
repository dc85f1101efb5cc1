#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# check-layers.py [TOP]: the module's files are layered (Documentation/
# index.rst): Kbuild lists the objects lowest layer first, and a file may
# call only functions defined in itself or in files listed before it.
# Inside the table engine pair (mmu/pgtable.c, mmu/walk.c) calls go both
# ways.  Prints every call that goes up and exits 1 if there is one.
import os
import re
import sys

top = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(
    os.path.dirname(os.path.abspath(__file__)))
PAIRS = [{"mmu/pgtable.c", "mmu/walk.c"}]

kbuild = open(os.path.join(top, "Kbuild")).read()
files = []
for m in re.finditer(r"^s2mmu-y\s*:?\+?=\s*(.*)$", kbuild, re.M):
    files += [o[:-2] + ".c" for o in m.group(1).split() if o.endswith(".o")]
if not files:
    sys.exit("check-layers: no s2mmu-y objects in Kbuild")


def strip(src):
    """The source without comments and string literals."""
    src = re.sub(r"/\*.*?\*/", " ", src, flags=re.S)
    src = re.sub(r"//[^\n]*", " ", src)
    return re.sub(r'"(\\.|[^"\\])*"', '""', src)


defined = {}    # function -> index of the file defining it
calls = {}      # file index -> set of functions it names followed by (
for i, f in enumerate(files):
    src = strip(open(os.path.join(top, f)).read())
    # A definition: a name at the start of a line after a return type,
    # its parameter list, then a body (possibly after annotations).
    for m in re.finditer(r"^(?!static\b)[a-z_][\w \*]*?\b(s2mmu_\w+)\s*\("
                         r"[^;{]*?\)[^;{]*\{", src, re.M):
        defined[m.group(1)] = i
    calls[i] = set(re.findall(r"\b(s2mmu_\w+)\s*\(", src))

bad = 0
for i, f in enumerate(files):
    for fn in sorted(calls[i]):
        j = defined.get(fn)
        if j is None or j <= i:
            continue
        if any({f, files[j]} <= p for p in PAIRS):
            continue
        print(f"check-layers: {f} calls {fn}() of {files[j]}, a higher layer")
        bad += 1
print(f"check-layers: {len(files)} files, {len(defined)} functions, "
      f"{bad} upward call(s)")
sys.exit(1 if bad else 0)
