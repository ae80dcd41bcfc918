"""``binary_semantic``: templates with typed slots, method id ``0x00`` (AURA design).

Machine-made messages are mostly a fixed form with a few changing values. This
codec sends a template id and the values instead of the text::

    {ts} {word} sshd[{int}]: Failed password for {word} from {ipv4} port {int} ssh2

Templates come in layers: the built-in library (common assistant phrases and
notification forms, ids 16000 and up), the user's library files, and the
library ``auracodec train`` discovers from the user's traffic. Slot types are
normalizers (plugins, see :mod:`auracodec.core.normalize`); user-defined
patterns add more. The library's content hash is part of the pipeline's
fingerprint, so two ends with different libraries find out at the handshake.

Library format: :mod:`.library`; matching and payload: :mod:`.matcher`;
normalizers: :mod:`.normalizers`; user-defined patterns: :mod:`.patterns`;
discovery: :mod:`.discovery`, with the miner in :mod:`.miner` (search and
merges), :mod:`.clusters` (clusters and their JSON form) and :mod:`.masking`
(tokens and typed masking).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from auracodec.plugin import (
    AuraWarning,
    BindContext,
    Codec,
    CodecType,
    Config,
    CorruptPayload,
    Normalizer,
    NormalizerType,
    Progress,
    Sample,
    Setting,
    SettingError,
    TrainResult,
    hookimpl,
)

from . import normalizers as _normalizers
from .library import LibraryError, Template, content_hash, load_library, read_library
from .matcher import DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_MAX_RATIO, RATIO_SLACK, TemplateSet
from .patterns import Pattern, PatternError, make_patterns

NAME = "binary_semantic"
METHOD_ID = 0x00
LIBRARY_FILE = "templates.toml"


def _check_patterns(value: Any) -> dict[str, str]:
    expected = 'a table of name = "pattern" (see the pattern language in the docs)'
    if not isinstance(value, dict):
        raise ValueError(f"expected {expected}, got {value!r}")
    for name, pattern in value.items():
        if not isinstance(pattern, str):
            raise ValueError(f"expected {expected}, got {name} = {pattern!r}")
    try:
        make_patterns(value)
    except PatternError as exc:
        raise ValueError(str(exc)) from None
    return dict(value)


SETTINGS: tuple[Setting, ...] = (
    Setting.boolean(
        "builtin", True, "Load the built-in library (assistant phrases, notifications)."
    ),
    Setting.paths("libraries", "Template library files, in addition to the built-in one."),
    Setting(
        "patterns",
        {},
        'a table of name = "pattern"',
        'User-defined slot types, e.g. { order = "ORD-[0-9A-Z]{8}" }: '
        "a linear, possessive pattern language (docs/templates.md).",
        _check_patterns,
    ),
    Setting.boolean("partial", True, "Also match templates that cover only part of a message."),
    Setting.text(
        "remainder_codec",
        "auto",
        "Codec that compresses the free text of partial matches: a codec name, "
        "'auto' (brio, else zstd) or 'none'.",
    ),
    Setting.integer(
        "max_ratio",
        DEFAULT_MAX_RATIO,
        1,
        1024,
        "Output-to-payload ratio cap: a payload of n bytes decodes to at most the "
        f"template's fixed text + max_ratio * n + {RATIO_SLACK} bytes, so decoding work is "
        "bounded by the frame's length; the codec declines (another codec carries) matches "
        "beyond it, and refuses such payloads as corrupt. Both ends need the same value. "
        "See docs/templates.md.",
    ),
    Setting.integer(
        "max_message_size",
        DEFAULT_MAX_MESSAGE_SIZE,
        1,
        1 << 31,
        "Messages longer than this (bytes) are declined at once, without looking for a "
        "template (another codec carries them): templates are for short messages, and "
        "on a long one a partial match saves a few bytes for the cost of its remainder. "
        "Encoding only; does not change the format.",
    ),
    Setting.integer(
        "min_count",
        3,
        1,
        1 << 20,
        "Training: a discovered template must match at least this many messages.",
        training_only=True,
    ),
    Setting.integer(
        "max_templates",
        4000,
        1,
        65536,
        "Training: keep at most this many discovered templates (the most useful).",
        training_only=True,
    ),
)


class BinarySemanticCodec:
    """The template codec. Thread-safe. Libraries are loaded when bound."""

    name = NAME
    method_id = METHOD_ID
    thread_safe = True
    detects: frozenset[str] = frozenset()
    cost = 5

    def __init__(
        self,
        *,
        builtin: bool = True,
        libraries: Sequence[Path] = (),
        patterns: Mapping[str, str] | None = None,
        partial: bool = True,
        remainder_codec: str = "auto",
        max_ratio: int = DEFAULT_MAX_RATIO,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    ) -> None:
        self._builtin = builtin
        self._libraries = tuple(libraries)
        self._patterns = make_patterns(patterns or {})
        self._partial = partial
        self._remainder_name = remainder_codec
        self._max_ratio = max_ratio
        self._max_message_size = max_message_size
        self._set: TemplateSet | None = None
        self._fingerprint: dict[str, str | int] = {}

    # -- building -------------------------------------------------------------------

    def bind(self, context: BindContext) -> None:
        types = self._slot_types(context.normalizers)
        templates = self._load(types)
        remainder = self._pick_remainder(context.codecs)
        self._set = TemplateSet(
            templates, types, remainder, self._partial, self._max_ratio, self._max_message_size
        )
        definitions = {
            name: (
                f"pattern:{n.source}"
                if isinstance(n, Pattern)
                else f"{type(n).__module__}.{type(n).__qualname__}"
            )
            for name, n in types.items()
        }
        self._fingerprint = {
            "format": 1,
            "library": content_hash(templates, definitions),
            "remainder": remainder.name if remainder is not None else "none",
            "partial": int(self._partial),
            # The bound decides which payloads decode, so it is part of the format.
            "max_ratio": self._max_ratio,
            "ratio_slack": RATIO_SLACK,
        }

    def _slot_types(self, declared: Mapping[str, NormalizerType]) -> dict[str, Normalizer]:
        types: dict[str, Normalizer] = {}
        for name, ntype in declared.items():
            types[name] = ntype.factory({})
        for name, pattern in self._patterns.items():
            if name in types:
                raise SettingError("patterns", f"pattern {name!r} shadows the slot type {name!r}")
            types[name] = pattern
        return types

    def _load(self, types: Mapping[str, Normalizer]) -> list[Template]:
        layers: list[tuple[str, list[Template]]] = []
        if self._builtin:
            layers.append(builtin_library(types))
        for path in self._libraries:
            try:
                layers.append(load_library(path, types))
            except LibraryError as exc:
                raise SettingError("libraries", str(exc)) from exc
        seen: dict[int, str] = {}
        templates: list[Template] = []
        for source, layer in layers:
            for t in layer:
                if t.id in seen:
                    raise SettingError(
                        "libraries",
                        f"template {t.id} is defined in both {seen[t.id]} and {source}; "
                        "ids must be unique across libraries",
                    )
                seen[t.id] = source
                templates.append(t)
        return templates

    def _pick_remainder(self, codecs: Mapping[str, Codec]) -> Codec | None:
        name = self._remainder_name
        if name == "none":
            return None
        if name == "auto":
            return next((codecs[n] for n in ("brio", "zstd") if n in codecs), None)
        if name not in codecs or name in (NAME, "identity"):
            raise SettingError(
                "remainder_codec",
                f"expected 'auto', 'none' or a codec of this pipeline "
                f"({', '.join(n for n in codecs if n not in (NAME, 'identity'))}), got {name!r}",
            )
        return codecs[name]

    @property
    def templates(self) -> TemplateSet:
        if self._set is None:
            raise RuntimeError("the template codec is used before the pipeline bound it")
        return self._set

    # -- the codec ----------------------------------------------------------------------

    def encode(self, message: bytes) -> bytes | None:
        return self.templates.encode(message)

    def decode(self, payload: bytes, limit: int) -> bytes:
        if self._set is None:
            raise CorruptPayload("the template codec has no library bound")
        return self._set.decode(payload, limit)

    def max_payload_size(self, size: int) -> int:
        # Header (3 bytes at most for ids < 2**18), then at worst every byte of
        # the message as slot text or remainder, with its length prefix.
        return size + 3 + 5 + 5 * 64

    def fingerprint(self) -> Mapping[str, str | int]:
        return dict(self._fingerprint)

    def stats(self) -> dict[str, object]:
        return self.templates.stats()


def builtin_library(types: Mapping[str, Normalizer]) -> tuple[str, list[Template]]:
    """The built-in library shipped with auracodec (``builtin.toml``)."""
    import tomllib

    text = (resources.files(__name__) / "builtin.toml").read_text(encoding="utf-8")
    return read_library(tomllib.loads(text), types, "built-in library")


def _factory(settings: Mapping[str, Any]) -> BinarySemanticCodec:
    return BinarySemanticCodec(
        builtin=settings["builtin"],
        libraries=settings["libraries"],
        patterns=settings["patterns"],
        partial=settings["partial"],
        remainder_codec=settings["remainder_codec"],
        max_ratio=settings["max_ratio"],
        max_message_size=settings["max_message_size"],
    )


@hookimpl
def auracodec_codec_types() -> list[CodecType]:
    return [CodecType(NAME, METHOD_ID, _factory, SETTINGS, "templates with typed slots")]


@hookimpl
def auracodec_normalizers() -> list[NormalizerType]:
    return _normalizers.declarations()


@hookimpl
def auracodec_train(
    corpus: Sequence[Sample],
    outdir: Path,
    config: Config,
    progress: Progress,
    normalizers: Mapping[str, NormalizerType],
    statedir: Path,
) -> TrainResult | None:
    from .discovery import LIBRARY_FILE, Learner

    settings = config.codec_settings(NAME, SETTINGS)
    types: dict[str, Normalizer] = {n: t.factory({}) for n, t in normalizers.items()}
    types.update(make_patterns(settings["patterns"]))
    # The library is the profile's; the miner's state, which holds training
    # messages verbatim, is the training state directory's.
    learner = Learner.resume(
        outdir,
        types,
        state_dir=statedir,
        min_count=settings["min_count"],
        max_templates=settings["max_templates"],
    )
    learner.observe((s.data for s in corpus), progress.task("templates: mining", len(corpus)))
    report = learner.update()
    learner.write_state(statedir, library_dir=outdir)
    if not report.templates:
        warnings.warn(
            "binary_semantic: no template matched at least "
            f"{settings['min_count']} messages; no library written",
            AuraWarning,
            stacklevel=2,
        )
        return None
    learner.write_library(outdir)
    if report.low_variability:
        shown = "; ".join(report.low_variability[:3])
        more = len(report.low_variability) - 3
        warnings.warn(
            f"binary_semantic: {len(report.low_variability)} templates have slots that "
            f"barely vary (a literal may serve better): {shown}"
            + (f"; and {more} more" if more > 0 else ""),
            AuraWarning,
            stacklevel=2,
        )
    # Keep the starting config's own libraries, then the discovered one.
    libraries = [str(p) for p in settings["libraries"] if p.name != LIBRARY_FILE]
    return TrainResult(
        codec=NAME,
        settings={"libraries": [*libraries, LIBRARY_FILE]},
        summary=(
            f"{report.templates} templates ({report.added} new, {report.retired} retired); "
            f"they match {report.hit_rate:.0%} of the corpus and save {report.saved} bytes"
        ),
    )
