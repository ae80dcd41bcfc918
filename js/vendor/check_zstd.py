"""Check the vendored zstd lib/ against python-zstandard's amalgamated zstd.c.

    python js/vendor/check_zstd.py ZSTANDARD_SDIST_DIR/zstd/zstd.c [LIB_DIR]

The amalgamation inlines each lib/ file between "start inlining X" and "ended
inlining X" comments, dropping its #include lines (a header inlined before is
"skipping file"). Each file under LIB_DIR (default: js/vendor/zstd/lib),
#include lines aside, must equal its inlined copy: "same", else "DIFFERS", or
"ABSENT" when the amalgamation has no such file (common/xxhash.c, a wrapper it
does not need). Exit status 1 if any file differs.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

INCLUDE = re.compile(r"\s*#\s*include\b")
MARK = re.compile(r"/\*\*\*\* (start inlining|ended inlining|skipping file:) (\S+) \*\*\*\*/")


def inlined(amalgamation: str) -> dict[str, list[list[str]]]:
    """Every inlined file's lines (nested files and #include lines left out), by file name."""
    copies: dict[str, list[list[str]]] = {}
    stack: list[list[str]] = []
    names: list[str] = []
    for line in amalgamation.split("\n"):
        mark = MARK.fullmatch(line.strip())
        if mark and mark.group(1) == "start inlining":
            stack.append([])
            names.append(Path(mark.group(2)).name)
        elif mark and mark.group(1) == "ended inlining":
            copies.setdefault(names.pop(), []).append(stack.pop())
        elif stack and not mark and not INCLUDE.match(line):
            stack[-1].append(line)
    return copies


def main() -> int:
    amalgamation = Path(sys.argv[1]).read_text(encoding="latin-1")
    lib = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(__file__).parent / "zstd" / "lib"
    copies = inlined(amalgamation)
    bad = 0
    for path in sorted(p for p in lib.rglob("*") if p.suffix in (".c", ".h")):
        lines = [x for x in path.read_text(encoding="latin-1").split("\n") if not INCLUDE.match(x)]
        bodies = copies.get(path.name, [])
        # the amalgamation ends each file without its last newline
        same = any(b in (lines, lines[:-1]) for b in bodies)
        verdict = "same" if same else "DIFFERS" if bodies else "ABSENT"
        bad += verdict == "DIFFERS"
        print(verdict, path.relative_to(lib))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
