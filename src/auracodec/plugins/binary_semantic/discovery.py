"""Template discovery: a library learned from the user's traffic.

``auracodec train`` runs it; so can code that watches a stream::

    learner = Learner.resume(profile_dir, types, state_dir=state)   # or Learner(types)
    learner.observe(messages)                           # any number of times
    learner.update()
    learner.write(profile_dir, state_dir=state)         # templates.toml; the miner's state

The library (``templates.toml``) is what both ends share; the miner's state
(``templates.state.json``) is what only training needs, and it holds training
messages verbatim (every cluster keeps sample messages), so it belongs in a
training state directory, never in the profile that is served to peers.

1. The miner (:mod:`.miner`, a streaming Drain-style parser with typed masking)
   groups messages into clusters whose template is literal tokens, wildcard
   tokens and exact separators.
2. Each cluster becomes library text. A wildcard token gets the most compact
   slot its values allow: a typed skeleton when every value has the same one
   (``blk_{int}``, ``{ipv4}:{int}``, ``{ts}``), an open-ended ``enum`` for a
   small set of frequent values (``{enum:INFO|WARN|*}``: other values still
   match, as words), else ``{word}``; a separator that varies becomes an enum
   of the whitespace runs seen.
3. Candidates are tried on the messages seen: a template stays only if it
   matched at least ``min_count`` messages and saved bytes; at most
   ``max_templates`` stay, the most useful first. Ids go by frequency, so the
   commonest templates have one-byte ids.
4. The library only grows. On a later run the existing templates keep their
   ids, new ones are appended, and templates that never paid for themselves
   are marked ``retired`` (still decoded, no longer chosen).

Diagnostics follow AURA's: per template the messages it matched and the bytes
it saved (kept in the library file), and a warning for templates whose slots
barely vary (a literal would do).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from auracodec.plugin import Normalizer

from .clusters import Cluster
from .library import (
    LibraryError,
    Template,
    load_library,
    parse_template,
    render_library,
)
from .matcher import TemplateSet
from .miner import TemplateMiner

__all__ = ["LearnReport", "Learner", "slot_text"]

LIBRARY_FILE = "templates.toml"
STATE_FILE = "templates.state.json"
_ENUM_MAX = 16  # values of an enum slot
_ENUM_VALUE_MAX = 24  # bytes per value: longer ones are names, better as {word}
_ENUM_SUPPORT = 4  # an enum needs this many messages per value
_TYPED_ORDER = ("uuid", "ts", "ipv6", "ipv4", "dec", "int", "hex")
_ALNUM = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


@attrs.frozen
class LearnReport:
    """What a discovery run produced."""

    templates: int
    added: int
    retired: int
    messages: int
    matched: int
    saved: int
    low_variability: tuple[str, ...]

    @property
    def hit_rate(self) -> float:
        return self.matched / self.messages if self.messages else 0.0


def slot_text(
    values: Sequence[str], saturated: bool, count: int, types: Mapping[str, Normalizer]
) -> str:
    """Template text for a wildcard token, from the values it took."""
    if not values:
        return "{word}"
    skeletons = {_skeleton(v, types) for v in values}
    if len(skeletons) == 1:
        (skeleton,) = skeletons
        if "{" in skeleton.replace("{{", ""):
            return skeleton
    if (
        not saturated
        and len(values) <= _ENUM_MAX
        and count >= _ENUM_SUPPORT * len(values)
        and all(
            0 < len(v.encode("utf-8", "surrogateescape")) <= _ENUM_VALUE_MAX
            and not set(v) & set("|{}")
            for v in values
        )
    ):
        # Open-ended: a value not seen in training still matches, as a word.
        return "{enum:" + "|".join(sorted(values, key=lambda v: (-len(v), v))) + "|*}"
    return "{word}"


def _skeleton(value: str, types: Mapping[str, Normalizer]) -> str:
    """The value with typed parts replaced by slots: ``blk_-77`` -> ``blk_{int}``."""
    raw = value.encode("utf-8", "surrogateescape")
    out: list[str] = []
    i = 0
    n = len(raw)
    while i < n:
        boundary = i == 0 or chr(raw[i - 1]) not in _ALNUM
        taken = False
        if boundary:
            for name in _TYPED_ORDER:
                norm = types.get(name)
                if norm is None:
                    continue
                end = norm.match(raw, i)
                if end <= i or (end < n and chr(raw[end]) in _ALNUM and name != "hex"):
                    continue
                part = raw[i:end]
                if name == "hex" and not _hexlike(part):
                    continue
                if norm.pack(part) is None:
                    continue
                out.append("{" + name + "}")
                i = end
                taken = True
                break
        if not taken:
            ch = raw[i : i + 1].decode("utf-8", "surrogateescape")
            out.append("{{" if ch == "{" else "}}" if ch == "}" else ch)
            i += 1
    return "".join(out)


def _hexlike(part: bytes) -> bool:
    """A hex id, not a word that happens to be made of a-f (``face``, ``added``)."""
    has_digit = any(48 <= b <= 57 for b in part)
    has_letter = any(b > 57 for b in part)
    return len(part) >= 8 and has_digit and has_letter


def cluster_text(cluster: Cluster, types: Mapping[str, Normalizer]) -> str | None:
    """Library text for a miner cluster, or ``None`` if it cannot be written."""
    out: list[str] = []
    last = len(cluster.separators)
    for i, token in enumerate(cluster.tokens):
        if token is None:
            s = cluster.slot("token", i)
            out.append(slot_text(sorted(s.values), s.saturated, cluster.count, types))
        else:
            out.append(token.replace("{", "{{").replace("}", "}}"))
        if i < last:
            sep = cluster.separators[i]
            if sep is None:
                s = cluster.slot("sep", i)
                if s.saturated or not s.values or any("|" in v for v in s.values):
                    return None
                out.append("{enum:" + "|".join(sorted(s.values, key=lambda v: -len(v))) + "}")
            else:
                out.append(sep)
    text = "".join(out)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return None  # literal bytes that are not UTF-8 cannot go into a TOML library
    return text or None


class Learner:
    """Discovery state: the miner, and the library it has produced so far."""

    def __init__(
        self,
        types: Mapping[str, Normalizer],
        *,
        min_count: int = 3,
        max_templates: int = 4000,
        miner: TemplateMiner | None = None,
        library: Sequence[Template] = (),
        stats: Mapping[int, Mapping[str, int]] | None = None,
        version: int = 0,
    ) -> None:
        self.types = dict(types)
        self.min_count = min_count
        self.max_templates = max_templates
        self.miner = miner or TemplateMiner()
        self.library = list(library)
        self.stats = {tid: dict(s) for tid, s in (stats or {}).items()}
        self.version = version
        self._seen: list[bytes] = []

    @classmethod
    def resume(
        cls,
        directory: Path,
        types: Mapping[str, Normalizer],
        *,
        state_dir: Path | None = None,
        **kw: Any,
    ) -> Learner:
        """Continue from a library written by :meth:`write` (or start afresh).

        The library is read from ``directory``, the miner's state from
        ``state_dir``, else from ``directory`` (where auracodec 0.1 kept it).
        A library without a state keeps its templates and ids; only the miner
        starts afresh.
        """
        lib_path = directory / LIBRARY_FILE
        if not lib_path.exists():
            return cls(types, **kw)
        _, templates = load_library(lib_path, types)
        import tomllib

        head = tomllib.loads(lib_path.read_text(encoding="utf-8"))
        stats = {
            e["id"]: {k: e[k] for k in ("hits", "saved") if k in e}
            for e in head.get("template", [])
        }
        miner = None
        for where in (state_dir, directory):
            state_path = (where or directory) / STATE_FILE
            if state_path.exists():
                miner = TemplateMiner.from_state(json.loads(state_path.read_text(encoding="utf-8")))
                break
        return cls(
            types,
            miner=miner,
            library=templates,
            stats=stats,
            version=int(head["library"].get("version", 0)),
            **kw,
        )

    def observe(
        self, messages: Iterable[bytes], progress: Callable[[int], None] | None = None
    ) -> None:
        """Feed messages to the miner; keep them to score candidates."""
        add = self.miner.add
        for n, m in enumerate(messages, 1):
            add(m.decode("utf-8", "surrogateescape"))
            self._seen.append(m)
            if progress and n % 256 == 0:
                progress(256)
        if progress:
            progress(len(self._seen) % 256)

    def update(self) -> LearnReport:
        """Turn the miner's clusters into library templates (append-only)."""
        known = {t.text: t for t in self.library}
        candidates: list[Template] = []
        next_id = max((t.id for t in self.library), default=-1) + 1
        for cluster in self.miner.clusters:
            if cluster.count < self.min_count:
                continue
            text = cluster_text(cluster, self.types)
            if text is None or text in known:
                continue
            try:
                candidates.append(parse_template(next_id + len(candidates), text, self.types))
            except LibraryError:
                continue  # not expressible as a template; the other codecs take it
        active = [t for t in self.library if not t.retired]
        scored = TemplateSet(active + candidates, self.types, partial=False)
        for m in self._seen:
            scored.encode(m)
        hits, saved = scored.hits, scored.saved
        useful = [t for t in candidates if hits[t.id] >= self.min_count and saved[t.id] > 0]
        room = max(0, self.max_templates - len(active))
        useful.sort(key=lambda t: (-saved[t.id], t.id))
        keep = sorted(useful[:room], key=lambda t: (-hits[t.id], t.id))
        added = [attrs.evolve(t, id=next_id + i) for i, t in enumerate(keep)]
        renumber = {t.text: a.id for t, a in zip(keep, added, strict=True)}
        retired = 0
        library: list[Template] = []
        for t in self.library:
            total = self.stats.get(t.id, {})
            h = total.get("hits", 0) + hits[t.id]
            s = total.get("saved", 0) + saved[t.id]
            self.stats[t.id] = {"hits": h, "saved": s}
            if not t.retired and h < self.min_count:
                t = attrs.evolve(t, retired=True)
                retired += 1
            library.append(t)
        for t in keep:
            tid = renumber[t.text]
            self.stats[tid] = {"hits": hits[t.id], "saved": saved[t.id]}
        library.extend(added)
        self.library = library
        self.version += 1
        seen, self._seen = self._seen, []
        return LearnReport(
            templates=sum(not t.retired for t in library),
            added=len(added),
            retired=retired,
            messages=len(seen),
            matched=sum(hits.values()),
            saved=sum(saved.values()),
            low_variability=tuple(self._low_variability(renumber)),
        )

    def _low_variability(self, ids: Mapping[str, int]) -> Iterable[str]:
        for c in self.miner.clusters:
            d = c.describe()
            if not d["flagged"]:
                continue
            text = cluster_text(c, self.types)
            if text is not None and text in ids:
                narrow = sum(s["low_variability"] for s in d["slots"])
                short = text if len(text) <= 60 else text[:57] + "..."
                yield (
                    f"template {ids[text]} ({short!r}): {narrow} slot(s) took at most 2 "
                    f"values in {c.count} messages"
                )

    def write(
        self, directory: Path, name: str = "discovered", *, state_dir: Path | None = None
    ) -> Path:
        """Write ``templates.toml`` into ``directory`` and the miner's state into
        ``state_dir`` (default: ``directory``); see :meth:`write_state`."""
        path = self.write_library(directory, name)
        self.write_state(state_dir or directory, library_dir=directory)
        return path

    def write_library(self, directory: Path, name: str = "discovered") -> Path:
        """Write ``templates.toml`` (what both ends share) into ``directory``."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / LIBRARY_FILE
        path.write_text(
            render_library(name, self.library, self.version, self.stats), encoding="utf-8"
        )
        return path

    def write_state(self, state_dir: Path, *, library_dir: Path | None = None) -> Path:
        """Write the miner's state (``templates.state.json``) into ``state_dir``.

        The state holds training messages verbatim. A state file left in
        ``library_dir`` by an earlier version of auracodec is removed when
        ``state_dir`` is another directory: the state has moved out.
        """
        state_dir.mkdir(parents=True, exist_ok=True)
        path = state_dir / STATE_FILE
        state = self.miner.to_state(include_cache=False)
        path.write_text(json.dumps(state), encoding="utf-8")
        if library_dir is not None and library_dir.resolve() != state_dir.resolve():
            (library_dir / STATE_FILE).unlink(missing_ok=True)
        return path
