"""The template miner's clusters: a template, its wildcards' statistics, and their JSON form.

A :class:`Cluster` is a template (literal tokens or wildcards, literal
separators or separator wildcards) with the number of messages it took; a
:class:`Slot` keeps the statistics of one wildcard (values, fine shapes,
coarse shapes). Both convert to and from plain JSON-able data
(``to_dict``/``from_dict``), which :meth:`.miner.TemplateMiner.to_state` uses.
The search that builds and merges clusters is in :mod:`.miner`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .masking import GENERIC, detokenize, readable, tokenize

__all__ = ["Branch", "Cluster", "Slot"]

# Candidate clusters are bucketed by token count and the leading literal shapes.
Branch = tuple[int, tuple[str, ...]]


class Slot:
    """Statistics of one wildcard (a token position or a separator gap)."""

    __slots__ = ("coarse", "saturated", "shapes", "values")

    def __init__(self) -> None:
        self.values: set[str] = set()  # distinct values, at most max_values
        self.saturated = False  # True once more than max_values were seen
        self.shapes: dict[str, int] = {}  # fine shape -> count (token slots only)
        self.coarse: set[str] = set()  # distinct coarse shapes (evidence), small

    @property
    def distinct(self) -> int:
        """Distinct values seen (a lower bound when ``saturated``)."""
        return len(self.values)

    def to_dict(self) -> dict[str, Any]:
        return {
            "values": sorted(self.values),
            "saturated": self.saturated,
            "shapes": dict(sorted(self.shapes.items())),
            "coarse": sorted(self.coarse),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Slot:
        s = cls()
        s.values = set(d["values"])
        s.saturated = bool(d["saturated"])
        s.shapes = dict(d["shapes"])
        s.coarse = set(d["coarse"])
        return s


class Cluster:
    """A template and its statistics.

    ``tokens[i]`` is the literal token at position ``i`` or ``None`` for a
    wildcard; ``separators[j]`` (between tokens j and j+1) likewise.  Slots are
    numbered in message order: token and separator wildcards interleaved.
    """

    __slots__ = (
        "branch",
        "check_positions",
        "count",
        "fine",
        "id",
        "sep_slots",
        "separators",
        "shapes",
        "token_slots",
        "tokens",
    )

    def __init__(
        self,
        cid: int,
        tokens: list[str],
        separators: list[str],
        shapes: list[str],
        fine: list[str],
        branch: Branch,
    ) -> None:
        self.id = cid
        self.count = 0
        self.tokens: list[str | None] = list(tokens)
        self.separators: list[str | None] = list(separators)
        # coarse shape per position while constant, else None
        self.shapes: list[str | None] = list(shapes)
        # fine shape of each literal token (kept for the slot statistics)
        self.fine: list[str | None] = list(fine)
        self.branch = branch
        self.token_slots: dict[int, Slot] = {}
        self.sep_slots: dict[int, Slot] = {}
        #: Positions a cache hit must look at: wildcards and typed literals.
        self.check_positions: list[int] = []
        self.refresh()

    # -- template as data ---------------------------------------------------
    def refresh(self) -> None:
        """Recompute ``check_positions`` after the template changed (the miner's merges)."""
        self.check_positions = [
            i
            for i, (t, s) in enumerate(zip(self.tokens, self.shapes, strict=False))
            if t is None or s is None or GENERIC in s
        ]

    @property
    def n_tokens(self) -> int:
        return len(self.tokens)

    def slots(self) -> list[tuple[str, int]]:
        """Wildcards in message order as ``("token", i)`` / ``("sep", j)``."""
        out: list[tuple[str, int]] = []
        for i, t in enumerate(self.tokens):
            if t is None:
                out.append(("token", i))
            if i < len(self.separators) and self.separators[i] is None:
                out.append(("sep", i))
        return out

    def slot(self, kind: str, index: int) -> Slot:
        return (self.token_slots if kind == "token" else self.sep_slots)[index]

    def template_text(self, wildcard: str = "<*>", sep_wildcard: str = " ") -> str:
        """Human-readable template; a separator wildcard is shown as ``sep_wildcard``."""
        toks = [wildcard if t is None else t for t in self.tokens]
        seps = [sep_wildcard if s is None else s for s in self.separators]
        return detokenize(toks, seps)

    def fits(self, message: str) -> bool:
        return self.extract(message) is not None

    def extract(self, message: str) -> list[str] | None:
        """Values of the slots (in ``slots()`` order), or None if the template
        does not describe ``message`` exactly."""
        toks, seps = tokenize(message)
        return self.extract_tokens(toks, seps)

    def extract_tokens(self, toks: list[str], seps: list[str]) -> list[str] | None:
        """:meth:`extract` on a message already tokenized."""
        if len(toks) != len(self.tokens):
            return None
        out: list[str] = []
        lastsep = len(seps)
        for i, t in enumerate(self.tokens):
            if t is None:
                out.append(toks[i])
            elif t != toks[i]:
                return None
            if i < lastsep:
                s = self.separators[i]
                if s is None:
                    out.append(seps[i])
                elif s != seps[i]:
                    return None
        return out

    def render(self, values: Sequence[str]) -> str:
        """Rebuild a message from slot values (inverse of :meth:`extract`)."""
        it = iter(values)
        out: list[str] = []
        last = len(self.separators)
        try:
            for i, t in enumerate(self.tokens):
                out.append(next(it) if t is None else t)
                if i < last:
                    s = self.separators[i]
                    out.append(next(it) if s is None else s)
        except StopIteration:
            raise ValueError(f"too few values for template {self.id}") from None
        if next(it, None) is not None:
            raise ValueError(f"too many values for template {self.id}")
        return "".join(out)

    # -- diagnostics ----------------------------------------------------------
    def describe(self, low_variability: int = 2, min_count: int = 10) -> dict[str, Any]:
        """Count, template and per-wildcard statistics.

        A wildcard is flagged ``low_variability`` when the cluster has at least
        ``min_count`` messages but the wildcard took at most ``low_variability``
        distinct values: such a position may rather be a constant of several
        templates.
        """
        slots = []
        for kind, idx in self.slots():
            s = self.slot(kind, idx)
            slots.append(
                {
                    "kind": kind,
                    "index": idx,
                    "distinct": s.distinct,
                    "saturated": s.saturated,
                    "shapes": {
                        readable(k): v for k, v in sorted(s.shapes.items(), key=lambda kv: -kv[1])
                    },
                    "low_variability": (
                        self.count >= min_count
                        and not s.saturated
                        and s.distinct <= low_variability
                    ),
                }
            )
        return {
            "id": self.id,
            "count": self.count,
            "template": self.template_text(),
            "slots": slots,
            "flagged": any(s["low_variability"] for s in slots),
        }

    def __repr__(self) -> str:
        return f"Cluster(id={self.id}, count={self.count}, {self.template_text()!r})"

    # -- persistence ----------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "count": self.count,
            "tokens": self.tokens,
            "separators": self.separators,
            "shapes": self.shapes,
            "fine": self.fine,
            "branch": [self.branch[0], list(self.branch[1])],
            "token_slots": [[i, s.to_dict()] for i, s in sorted(self.token_slots.items())],
            "sep_slots": [[i, s.to_dict()] for i, s in sorted(self.sep_slots.items())],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Cluster:
        c = cls.__new__(cls)
        c.id = int(d["id"])
        c.count = int(d["count"])
        c.tokens = list(d["tokens"])
        c.separators = list(d["separators"])
        c.shapes = list(d["shapes"])
        c.fine = list(d["fine"])
        c.branch = (int(d["branch"][0]), tuple(d["branch"][1]))
        c.token_slots = {int(i): Slot.from_dict(s) for i, s in d["token_slots"]}
        c.sep_slots = {int(i): Slot.from_dict(s) for i, s in d["sep_slots"]}
        c.check_positions = []
        c.refresh()
        return c
