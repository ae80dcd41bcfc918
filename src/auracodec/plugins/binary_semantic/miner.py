"""Incremental log-template miner for auracodec's template codec.

A *template* describes a family of machine-made messages: a sequence of tokens
(separated by runs of ASCII spaces/tabs) in which every token is either a
literal or a wildcard, plus the separator between consecutive tokens, which is
itself a literal or a wildcard.  Rendering a template with the values of its
wildcards gives back the original message byte for byte.

Overview of the algorithm
-------------------------
The miner is a streaming, Drain-like parser (He et al., ICWS 2017) with three
additions: typed masking, a *variability evidence* rule that decides when a
position that holds ordinary words may become a wildcard, and separator
wildcards.

1. Tokenize.  ``message == t0 + s0 + t1 + s1 + ... + tn``: tokens ``t_i`` are
   the maximal runs without space/tab (the first and the last may be empty when
   the message starts or ends with whitespace), separators ``s_i`` are the
   space/tab runs, kept exactly.

2. Typed masking (:mod:`.masking`).  Typed values in each token (uuid, url,
   path, host, date/datetime, IPv6, IPv4, time, hex, number, identifier with
   digits, integer, boolean/null, month and weekday names, units after a
   number) are replaced by one placeholder character per type: the *fine
   shape* of the token (``blk_<int>``, ``/<ipv4>``).  The *coarse shape* maps
   every type to one generic placeholder; it is what clustering compares, so
   that ``0x1f`` and ``31`` or ``5.2`` and ``5`` count as the same kind of
   variable.

3. Exact-shape cache.  The fine shapes plus the separators of the message are
   looked up in a dictionary that remembers the cluster each previously seen
   shape went to.  Most messages of a stream hit this cache; a hit costs the
   split, the token-shape lookups and a short loop over the cluster's variable
   positions.

4. Candidate search (cache miss).  Clusters are indexed by token count and by
   the first ``prefix_depth`` tokens when those are plain words (a typed first
   token goes to a ``*`` branch), as in Drain's fixed-depth tree.  The message
   is compared position by position with each candidate template:

   * *match*: the template position is a wildcard, or the coarse shapes are
     equal (so two different integers match);
   * *typed*: both tokens contain typed values and their words (letter runs
     of 3 or more) agree, or one side has no word at all, e.g. ``LOCAL(0),``
     vs ``10.1.2.3,`` or ``R24-M0-NB-C:J14-U11`` vs ``R24-M0-N4-C:J14-U11``;
     or one token is the other with its typed values removed (``()`` vs
     ``(<host>)``);
   * *word*: anything else, e.g. ``opened`` vs ``closed``.

   ``sim = matches / n``.  The best candidate is one that fits without
   typed/word differences (the most specific one), else the one with typed
   differences only, else the most similar one.  If it fits, the message
   joins it.  If it differs only at typed positions and ``sim >=
   sim_threshold``, the message joins it and those positions become wildcards.

5. Variability evidence.  If the best candidate has word differences, the
   similarity must also reach ``sim_threshold`` when positions that are typed
   on both sides are left out (a long header of timestamps and ids must not
   make two different messages look alike).  Let ``D`` be the word positions.
   The *family* is every cluster of the branch that agrees with the message
   outside ``D``.  The positions in ``D`` become wildcards only when each of
   them has shown at least ``min_variants * len(D)`` distinct coarse shapes
   across the family plus the message; then the whole family is merged into
   its oldest cluster (the others become aliases of it).  Otherwise the
   message starts a new cluster.  Rationale: two or three alternatives at one
   position are usually different events (``session opened``/``session
   closed``, ``... as bytes``/``... as values``, ``begin``/``end``), while user
   names, host names and the like soon show many distinct values; and the
   more positions change together, the more likely it is another event.  This
   is the streaming counterpart of the frequency reasoning of Brain (Yu et al.,
   2023).  For the codec, keeping a two-valued position as two templates costs
   nothing per message.

6. Separators.  A template keeps each separator as a literal while all members
   agree; when a member brings another separator at that gap (``Jul  1`` vs
   ``Jul 10``), the gap becomes a separator wildcard whose values are stored
   like token values.  Empty edge tokens (leading/trailing whitespace) only
   match empty edge tokens.

Messages with different token counts never share a template.

Determinism: all iteration is over lists ordered by cluster id, ties go to
the oldest cluster, and the cache is cleared deterministically, so the same
input order always yields the same clusters, ids and templates, including
across ``to_state``/``from_state``.

Clusters and their wildcards' statistics, with their JSON form, are in
:mod:`.clusters`; this module is the search, the merges and the miner's state.

Cluster ids are small integers in creation order.  A merge keeps the oldest
id; ``resolve(old_id)`` follows merges (and returns None after ``prune``).
Grouping accuracy is measured on the clusters at the end of the stream.

Parameters (defaults in parentheses)
------------------------------------
sim_threshold (0.7)   minimum fraction of matching positions for a message to
                      join (or trigger a merge with) an existing cluster.
min_variants (4)      distinct coarse shapes a word position needs before it is
                      generalized to a wildcard (times the number of word
                      positions that differ at once).
prefix_depth (1)      leading plain-word tokens used to index clusters.
max_values (32)       distinct values remembered per wildcard (diagnostics).
max_shapes (8)        distinct fine shapes remembered per wildcard.
max_cache (200000)    entries of the exact-shape cache before it is cleared
                      (the token-shape cache holds up to 100000 tokens).
disabled_types (())   names from TYPE_NAMES to switch off (for ablations).

Complexity
----------
Masking and tokenizing are linear in the message length (every pattern is
anchored by look-behinds that allow only one start per word, and no pattern
nests ambiguous repetitions).  A cache hit then costs O(v) for the v variable
positions of the cluster.  A miss costs O(c * n) for the c clusters of the
branch and n tokens; a merge additionally O(f * n) for the f family members.
Memory is O(total template tokens * max_values) plus the two caches.

References
----------
* P. He, J. Zhu, Z. Zheng, M. R. Lyu. Drain: An Online Log Parsing Approach
  with Fixed Depth Tree. ICWS 2017.
* S. Yu, P. He, N. Chen, Y. Wu. Brain: Log Parsing with Bidirectional Parallel
  Tree. IEEE Transactions on Services Computing, 2023.
* J. Zhu et al. Tools and Benchmarks for Automated Log Parsing. ICSE-SEIP 2019.
* Z. A. Khan, D. Shin, D. Bianculli, L. Briand. Guidelines for Assessing the
  Accuracy of Log Message Template Identification Techniques. ICSE 2022.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from .clusters import Branch, Cluster, Slot
from .masking import GENERIC, TO_COARSE, TYPE_NAMES, Masker, tokenize

__all__ = ["TemplateMiner"]

# What comparing a message with a cluster gives: (matching positions, literal
# matches, positions where words differ, positions where typed values differ).
_Comparison = tuple[int, int, list[int], list[int]]

_WORDS = re.compile(r"[A-Za-z]{3,}")


def _typed_compatible(a: str, b: str) -> bool:
    """Two coarse shapes that both contain typed values: same kind of variable?

    Yes when their words (letter runs of 3 or more; shorter runs such as the
    ``R``/``M``/``NB`` of ``R24-M0-NB-C:J14-U11`` are treated as part of the
    value) are equal, or when one of them has no word at all.
    """
    wa = _WORDS.findall(a)
    wb = _WORDS.findall(b)
    return wa == wb or not wa or not wb


_DEFAULTS = {
    "sim_threshold": 0.7,
    "min_variants": 4,
    "prefix_depth": 1,
    "max_values": 32,
    "max_shapes": 8,
    "max_cache": 200_000,
    "disabled_types": (),
}


class TemplateMiner:
    """Streaming template miner.  See the module documentation."""

    STATE_VERSION = 1

    def __init__(
        self,
        sim_threshold: float = 0.7,
        min_variants: int = 4,
        prefix_depth: int = 1,
        max_values: int = 32,
        max_shapes: int = 8,
        max_cache: int = 200_000,
        disabled_types: Iterable[str] = (),
    ) -> None:
        if not 0.0 <= sim_threshold <= 1.0:
            raise ValueError("sim_threshold must be in [0, 1]")
        if min_variants < 2:
            raise ValueError("min_variants must be >= 2")
        unknown = set(disabled_types) - set(TYPE_NAMES)
        if unknown:
            raise ValueError(f"unknown types: {sorted(unknown)}")
        self.sim_threshold = float(sim_threshold)
        self.min_variants = int(min_variants)
        self.prefix_depth = int(prefix_depth)
        self.max_values = int(max_values)
        self.max_shapes = int(max_shapes)
        self.max_cache = int(max_cache)
        self.disabled_types = tuple(sorted(set(disabled_types)))
        self._masker = Masker(self.disabled_types)
        self._clusters: dict[int, Cluster] = {}
        self._branches: dict[Branch, list[int]] = {}
        self._alias: dict[int, int] = {}  # merged cluster id -> surviving id
        self._pruned: set[int] = set()  # ids removed by prune()
        # (fine token shapes, separators) -> cluster id
        self._cache: dict[tuple[tuple[str, ...], tuple[str, ...]], int] = {}
        self._next_id = 1
        self.messages = 0

    # -- public API -------------------------------------------------------------
    @property
    def params(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in _DEFAULTS}

    @property
    def clusters(self) -> list[Cluster]:
        """Live clusters, ordered by id."""
        return [self._clusters[k] for k in sorted(self._clusters)]

    def get(self, cluster_id: int) -> Cluster | None:
        """The live cluster for an id (following merges), or None if pruned."""
        cid = self.resolve(cluster_id)
        return None if cid is None else self._clusters[cid]

    def resolve(self, cluster_id: int) -> int | None:
        """Current id of a cluster id returned earlier (clusters merge), or None
        if it was pruned or never existed."""
        cid = cluster_id
        alias = self._alias
        while cid in alias:  # chains are short: a merge always keeps the oldest id
            cid = alias[cid]
        return cid if cid in self._clusters else None

    def add(self, message: str) -> int:
        """Learn one message; return the id of the cluster it now belongs to.

        Ids are stable except that a merge makes older ids aliases of the
        surviving one (see :meth:`resolve`)."""
        self.messages += 1
        toks, seps = tokenize(message)
        fshapes = self._masker.shapes(toks, seps)
        fine = (tuple(fshapes), tuple(seps))
        cid = self._cache.get(fine)
        if cid is not None:
            if cid not in self._clusters:
                cid = self.resolve(cid)
            if cid is not None:
                c = self._clusters[cid]
                self._update_hit(c, toks, seps, fshapes)
                return c.id
            del self._cache[fine]
        shapes = [s.translate(TO_COARSE) for s in fshapes]
        branch = self._branch_key(toks, shapes)
        placed = self._place(toks, shapes, branch)
        if placed is None:
            c = Cluster(self._next_id, toks, seps, shapes, fshapes, branch)
            self._next_id += 1
            self._clusters[c.id] = c
            self._branches.setdefault(branch, []).append(c.id)
        else:
            c = placed
        self._update_full(c, toks, seps, shapes, fshapes)
        if len(self._cache) >= self.max_cache:
            self._cache.clear()
        self._cache[fine] = c.id
        return c.id

    def match(self, message: str, strict: bool = True) -> int | None:
        """Find a cluster for ``message`` without learning.

        strict=True (default): only a cluster whose template reproduces the
        message exactly (all literal tokens and separators equal), preferring
        the one with the most literal tokens.  strict=False: the cluster
        :meth:`add` would pick if it did not create or merge clusters (may not
        fit exactly).  Returns None when there is none.
        """
        toks, seps = tokenize(message)
        fshapes = self._masker.shapes(toks, seps)
        cid = self._cache.get((tuple(fshapes), tuple(seps)))
        if cid is not None:
            cid = self.resolve(cid)
            if cid is not None:
                c = self._clusters[cid]
                if not strict or c.extract_tokens(toks, seps) is not None:
                    return cid
        shapes = [s.translate(TO_COARSE) for s in fshapes]
        branch = self._branch_key(toks, shapes)
        ids = self._branches.get(branch, ())
        if strict:
            best = None
            best_lit = -1
            for k in ids:
                c = self._clusters[k]
                if c.extract_tokens(toks, seps) is not None:
                    lit = len(c.tokens) - c.tokens.count(None)
                    if lit > best_lit:
                        best, best_lit = k, lit
            return best
        found = self._best(toks, shapes, ids)
        if found is None:
            return None
        c, score, word, typed = found
        if not word and (not typed or score >= self.sim_threshold * len(toks)):
            return c.id
        return None

    def prune(self, min_count: int) -> int:
        """Drop clusters seen fewer than ``min_count`` times; return how many."""
        drop = [k for k, c in self._clusters.items() if c.count < min_count]
        for k in drop:
            c = self._clusters.pop(k)
            self._branches[c.branch].remove(k)
            if not self._branches[c.branch]:
                del self._branches[c.branch]
            self._pruned.add(k)
        if drop:
            self._cache = {f: k for f, k in self._cache.items() if self.resolve(k) is not None}
        return len(drop)

    def describe(self, low_variability: int = 2, min_count: int = 10) -> list[dict[str, Any]]:
        """Diagnostics of every live cluster (see :meth:`Cluster.describe`)."""
        return [c.describe(low_variability, min_count) for c in self.clusters]

    # -- persistence --------------------------------------------------------------
    def to_state(self, include_cache: bool = True) -> dict[str, Any]:
        """The whole miner as JSON-able data (see :meth:`from_state`).

        With ``include_cache=False`` the exact-shape cache is left out (it can
        be large); learning then resumes correctly but may route a few messages
        differently from an uninterrupted run until the cache is warm again.
        """
        return {
            "format": "auracodec-template-miner",
            "version": self.STATE_VERSION,
            "params": {**self.params, "disabled_types": list(self.disabled_types)},
            "next_id": self._next_id,
            "messages": self.messages,
            "clusters": [c.to_dict() for c in self.clusters],
            "alias": sorted([k, v] for k, v in self._alias.items()),
            "pruned": sorted(self._pruned),
            "cache": (
                [[list(k[0]), list(k[1]), v] for k, v in self._cache.items()]
                if include_cache
                else []
            ),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> TemplateMiner:
        if (
            state.get("format") != "auracodec-template-miner"
            or state.get("version") != cls.STATE_VERSION
        ):
            raise ValueError(f"not a template-miner state of version {cls.STATE_VERSION}")
        m = cls(**state["params"])
        m._next_id = int(state["next_id"])
        m.messages = int(state["messages"])
        for d in state["clusters"]:
            c = Cluster.from_dict(d)
            m._clusters[c.id] = c
            m._branches.setdefault(c.branch, []).append(c.id)
        for ids in m._branches.values():
            ids.sort()
        m._alias = {int(k): int(v) for k, v in state["alias"]}
        m._pruned = set(int(k) for k in state["pruned"])
        m._cache = {(tuple(sh), tuple(sp)): int(k) for sh, sp, k in state["cache"]}
        return m

    def save(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_state(), f)

    @classmethod
    def load(cls, path: str) -> TemplateMiner:
        with open(path, encoding="utf-8") as f:
            return cls.from_state(json.load(f))

    # -- internals ------------------------------------------------------------------
    def _branch_key(self, toks: list[str], shapes: list[str]) -> Branch:
        pre = []
        for i in range(min(self.prefix_depth, len(toks))):
            s = shapes[i]
            pre.append(s if (s == toks[i] and s) else "*")
        return (len(toks), tuple(pre))

    def _compare(self, c: Cluster, toks: list[str], shapes: list[str]) -> _Comparison | None:
        """(matches, literal matches, word positions, typed positions), or None
        if the token counts' edge structure is incompatible."""
        score = 0
        literal = 0
        word: list[int] = []
        typed: list[int] = []
        ctoks = c.tokens
        for i, a in enumerate(c.shapes):
            b = shapes[i]
            if a is None:
                score += 1
            elif a == b:
                score += 1
                literal += 1
            elif not a or not b:
                # an empty edge token (leading/trailing whitespace) is structural
                if i == 0 or i == len(shapes) - 1:
                    return None
                word.append(i)
            elif GENERIC in a and GENERIC in b:
                if _typed_compatible(a, b):
                    typed.append(i)
                else:
                    word.append(i)
            elif (GENERIC in a and ctoks[i] is None and a.replace(GENERIC, "") == b) or (
                GENERIC in b and b.replace(GENERIC, "") == a
            ):
                typed.append(i)  # the same token with an empty variable part
            else:
                word.append(i)
        return score, literal, word, typed

    def _best(
        self, toks: list[str], shapes: list[str], ids: Iterable[int]
    ) -> tuple[Cluster, int, list[int], list[int]] | None:
        """Best candidate of a branch: (cluster, score, word, typed) or None."""
        best = None
        best_rank: tuple[int, int, int] | None = None
        for k in ids:
            c = self._clusters[k]
            r = self._compare(c, toks, shapes)
            if r is None:
                continue
            score, literal, word, typed = r
            rank = (0 if word else (1 if typed else 2), score, literal)
            if best_rank is None or rank > best_rank:
                best_rank = rank
                best = (c, score, word, typed)
        return best

    def _place(self, toks: list[str], shapes: list[str], branch: Branch) -> Cluster | None:
        """Cluster for a cache miss (possibly after a merge), or None for new."""
        ids = self._branches.get(branch)
        if not ids:
            return None
        found = self._best(toks, shapes, ids)
        if found is None:
            return None
        c, score, word, typed = found
        if not word and not typed:
            return c
        if score < self.sim_threshold * len(toks):
            return None
        if not word:
            return c
        if not self._word_similar(c, shapes):
            return None
        # Variability evidence: every differing word position must have shown
        # min_variants * len(word) distinct coarse shapes across the family and
        # the message (the more positions change at once, the more evidence).
        allowed = set(word)
        allowed.update(typed)
        family = []
        for k in ids:
            other = self._clusters[k]
            r = self._compare(other, toks, shapes)
            if r is not None and allowed.issuperset(r[2]) and allowed.issuperset(r[3]):
                family.append(other)
        need = self.min_variants * len(word)
        for i in word:
            seen = {shapes[i]}
            for f in family:
                shape = f.shapes[i]
                if shape is not None:
                    seen.add(shape)
                else:
                    seen.update(f.token_slots[i].coarse)
                if len(seen) >= need:
                    break
            if len(seen) < need:
                return None
        return self._merge(family)

    def _word_similar(self, c: Cluster, shapes: list[str]) -> bool:
        """Similarity restricted to positions that are not typed on both sides.

        Typed values (numbers, addresses, timestamps, ...) say little about
        which event a message is; when word positions differ, the decision is
        taken on the remaining positions, so that e.g. a long common header of
        timestamps and ids does not make two different messages look alike.
        """
        n = 0
        same = 0
        for a, b in zip(c.shapes, shapes, strict=False):
            if GENERIC in b and (a is None or GENERIC in a):
                continue
            n += 1
            if a is None or a == b:
                same += 1
        return same >= self.sim_threshold * n

    def _merge(self, family: list[Cluster]) -> Cluster:
        family.sort(key=lambda x: x.id)
        head = family[0]
        for c in family[1:]:
            for i in range(len(head.tokens)):
                self._merge_position(head, c, i)
            for j in range(len(head.separators)):
                hs, cs = head.separators[j], c.separators[j]
                if hs is not None and hs == cs:
                    continue
                slot = head.sep_slots.get(j)
                if slot is None:
                    assert hs is not None  # a separator without a slot is literal
                    slot = head.sep_slots[j] = Slot()
                    self._add_value(slot, hs)
                    head.separators[j] = None
                if cs is None:
                    for v in sorted(c.sep_slots[j].values):
                        self._add_value(slot, v)
                    slot.saturated |= c.sep_slots[j].saturated
                else:
                    self._add_value(slot, cs)
            head.count += c.count
            self._alias[c.id] = head.id
            del self._clusters[c.id]
            self._branches[c.branch].remove(c.id)
        head.refresh()
        return head

    def _merge_position(self, head: Cluster, c: Cluster, i: int) -> None:
        ht, ct = head.tokens[i], c.tokens[i]
        if ht is not None and ht == ct:
            return
        slot = head.token_slots.get(i)
        if slot is None:
            assert ht is not None  # a position without a slot is literal
            coarse = head.shapes[i]
            slot = self._open_slot(head, i, ht)
            if coarse is not None:
                slot.coarse.add(coarse)
        if ct is None:
            cs = c.token_slots[i]
            for v in sorted(cs.values):
                self._add_value(slot, v)
            slot.saturated |= cs.saturated
            for sh, n in sorted(cs.shapes.items()):
                self._add_shape(slot, sh, n)
            self._add_coarse(slot, cs.coarse)
        else:
            self._add_value(slot, ct)
            fine = c.fine[i]
            if fine is not None:
                self._add_shape(slot, fine, c.count)
            self._add_coarse(slot, (c.shapes[i],))
        if head.shapes[i] is not None and head.shapes[i] != c.shapes[i]:
            head.shapes[i] = None

    def _add_value(self, slot: Slot, v: str) -> None:
        if v not in slot.values:
            if len(slot.values) < self.max_values:
                slot.values.add(v)
            else:
                slot.saturated = True

    def _add_shape(self, slot: Slot, shape: str, n: int = 1) -> None:
        if shape in slot.shapes:
            slot.shapes[shape] += n
        elif len(slot.shapes) < self.max_shapes:
            slot.shapes[shape] = n
        else:
            other = "\ue000"  # overflow bucket, shown as "<*>"
            slot.shapes[other] = slot.shapes.get(other, 0) + n

    def _add_coarse(self, slot: Slot, shapes: Iterable[str | None]) -> None:
        cap = self.max_values
        for s in sorted(x for x in shapes if x is not None):
            if len(slot.coarse) >= cap:
                break
            slot.coarse.add(s)

    def _open_slot(self, c: Cluster, i: int, literal: str) -> Slot:
        """Turn the literal at token position ``i`` of ``c`` into a wildcard.

        The new slot starts with the literal as its value and the literal's
        fine shape, counted once per message the cluster has seen.
        """
        slot = c.token_slots[i] = Slot()
        self._add_value(slot, literal)
        fine = c.fine[i]
        if fine is not None:
            self._add_shape(slot, fine, c.count)
        c.tokens[i] = None
        c.fine[i] = None
        return slot

    def _update_full(
        self,
        c: Cluster,
        toks: list[str],
        seps: list[str],
        shapes: list[str],
        fshapes: list[str],
    ) -> None:
        """Add a message (found by search) to ``c``, generalizing its template."""
        changed = False
        ct, cs = c.tokens, c.shapes
        for i, t in enumerate(toks):
            lit = ct[i]
            if lit is not None:
                if lit == t:
                    continue
                coarse = cs[i]
                slot = self._open_slot(c, i, lit)
                if coarse is not None:
                    slot.coarse.add(coarse)
                changed = True
            slot = c.token_slots[i]
            self._add_value(slot, t)
            self._add_shape(slot, fshapes[i])
            if cs[i] is not None and cs[i] != shapes[i]:
                cs[i] = None
                changed = True
            if len(slot.coarse) < self.max_values:
                slot.coarse.add(shapes[i])
        self._update_seps(c, seps)
        c.count += 1
        if changed:
            c.refresh()

    def _update_hit(self, c: Cluster, toks: list[str], seps: list[str], fshapes: list[str]) -> None:
        """Add a message whose fine shape was already routed to ``c``."""
        ct = c.tokens
        changed = False
        for i in c.check_positions:
            t = toks[i]
            lit = ct[i]
            if lit is not None:
                if lit == t:
                    continue
                # a typed literal that now varies (same shape as before)
                coarse = c.shapes[i]
                slot = self._open_slot(c, i, lit)
                slot.coarse.add(coarse if coarse is not None else lit)
                changed = True
            else:
                slot = c.token_slots[i]
            if t not in slot.values:
                self._add_value(slot, t)
            sh = fshapes[i]
            if sh in slot.shapes:
                slot.shapes[sh] += 1
            else:
                self._add_shape(slot, sh)
        if seps != c.separators:
            self._update_seps(c, seps)
        c.count += 1
        if changed:
            c.refresh()

    def _update_seps(self, c: Cluster, seps: list[str]) -> None:
        cp = c.separators
        for j, s in enumerate(seps):
            lit = cp[j]
            if lit is not None:
                if lit == s:
                    continue
                slot = c.sep_slots[j] = Slot()
                self._add_value(slot, lit)
                cp[j] = None
            else:
                slot = c.sep_slots[j]
            if s not in slot.values:
                self._add_value(slot, s)
