"""The package's seams: the kernel has no import cycle, and auracodec's own
plugins use only the face third parties use (``auracodec.plugin``)."""

from __future__ import annotations

import ast
from pathlib import Path

import auracodec

PACKAGE = Path(auracodec.__file__).parent


def _imports(path: Path, *, typing_only: bool) -> set[str]:
    """Modules ``path`` imports from its own package (``from .x import``), at run
    time, or also under ``if TYPE_CHECKING:`` when ``typing_only``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                if node.module:
                    found.add(node.module.split(".")[0])
                else:  # from . import hookspecs
                    found.update(a.name for a in node.names)
            elif isinstance(node, ast.If):
                guarded = isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
                if typing_only or not guarded:
                    visit(node.body)

    visit(tree.body)
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := walk(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := walk(node)):
            return found
    return None


def test_the_kernel_has_no_import_cycle() -> None:
    core = PACKAGE / "core"
    modules = {p.stem: p for p in core.glob("*.py")}
    graph = {n: _imports(p, typing_only=False) & set(modules) for n, p in modules.items()}
    assert _cycle(graph) is None, f"import cycle in auracodec.core: {_cycle(graph)}"
    # A cycle the detector must see, so that the check above can fail.
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    # The session is built on the wire, not on the pipeline.
    assert "pipeline" not in _imports(modules["session"], typing_only=True)
    assert "session" not in _imports(modules["wire"], typing_only=True)


def test_builtin_plugins_import_only_the_public_face() -> None:
    offenders = []
    for path in sorted((PACKAGE / "plugins").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                if name.startswith("auracodec") and not (
                    name == "auracodec.plugin" or name.startswith("auracodec.plugins")
                ):
                    offenders.append(f"{path.relative_to(PACKAGE)}: {name}")
    assert not offenders, "built-in plugins must import only auracodec.plugin: " + ", ".join(
        offenders
    )
