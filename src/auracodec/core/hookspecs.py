"""The hook specifications of auracodec: every extension point in one place.

A plugin is a module or object with functions marked ``@auracodec.hookimpl``
and named like the specs below. It is found through the entry-point group
``auracodec.plugins``; auracodec's own codecs and policies are plugins of that
group too, and any plugin can be switched off by its entry-point name
(``[plugins] disable = ["brotli"]``).

Rules, as in pytest and pluggy:

* Hooks are called with keyword arguments only. An implementation may accept
  any subset of a spec's arguments, so specs can gain arguments without
  breaking plugins.
* "Collected" hooks return a list of every implementation's non-``None``
  result. ``firstresult`` hooks stop at the first non-``None`` result.
* Hooks run in the caller's thread. Observer hooks run on the encode and
  decode path, so they must be quick.
* What a plugin does is contained (:mod:`auracodec.core.wire`,
  :mod:`auracodec.core.registry`): a declaration hook that raises or returns
  something invalid gets its plugin skipped with a
  :class:`~auracodec.PluginWarning`; an observer or context hook that raises
  is skipped for that call, counted in ``stats.faults`` and logged once. It
  never changes what ``encode`` and ``decode`` return.
* Observer and context hooks are called one implementation at a time, in
  pluggy's order (``tryfirst``/``trylast`` apply); hook wrappers on them make
  the pipeline call the hook as a whole instead, contained as one.

Every hook exists since auracodec 0.1 unless its docstring says otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from .codec import Codec, CodecContext, CodecType
    from .config import Config
    from .corpus import Sample
    from .cost import CostModel
    from .events import MessageEvent, ObserverType
    from .normalize import NormalizerType
    from .selector import PolicyType
    from .session import Session
    from .training import Progress, TrainResult

__all__ = ["PROJECT", "hookimpl", "hookspec"]

#: The pluggy project name, and the prefix of every hook.
PROJECT = "auracodec"

hookspec = pluggy.HookspecMarker(PROJECT)
#: Marks a plugin's hook implementation: ``@auracodec.hookimpl``.
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def auracodec_codec_types() -> Sequence[CodecType]:
    """Declare the codecs this plugin provides.

    Collected: the results are concatenated. Takes no parameters. Returns a
    list of :class:`~auracodec.plugin.CodecType`: each names the codec, its
    method id, the settings of its ``[codecs.<name>]`` table and the factory
    that builds it. Declarations are checked when the plugin loads (name form,
    id range, types); a bad one skips the plugin with a warning that names
    its package. Two plugins claiming one id or name are both reported, and
    only pipelines that would use it refuse to build.
    """


@hookspec
def auracodec_selector_policies() -> Sequence[PolicyType]:
    """Declare the selector policies this plugin provides.

    Collected; no parameters; returns a list of
    :class:`~auracodec.plugin.PolicyType`. A policy is chosen by name in
    ``[selector] policy = ...``; the other keys of ``[selector]`` are checked
    against its declared settings.
    """


@hookspec
def auracodec_normalizers() -> Sequence[NormalizerType]:
    """Declare the normalizers (typed slot values) this plugin provides.

    Collected; no parameters; returns a list of
    :class:`~auracodec.plugin.NormalizerType`. Used by the template codec to
    find and pack values such as timestamps and UUIDs; see
    :mod:`auracodec.core.normalize`.
    """


@hookspec
def auracodec_observer_types() -> Sequence[ObserverType]:
    """Declare configurable observers (the audit log is one).

    Collected; no parameters; returns a list of
    :class:`~auracodec.plugin.ObserverType`. An observer runs only where the
    config has an ``[observers.<name>]`` table; its keys are checked against
    the declared settings, and its factory's object is registered as a plugin
    of that pipeline (its ``auracodec_message_*`` hooks then run).
    """


@hookspec
def auracodec_train(
    corpus: Sequence[Sample],
    outdir: Path,
    config: Config,
    progress: Progress,
    normalizers: Mapping[str, NormalizerType],
    statedir: Path,
) -> TrainResult | None:
    """Learn from sample messages; write artifacts into ``outdir``.

    Collected. Called by ``auracodec train`` (and :func:`auracodec.train`) for
    every enabled plugin. An implementation reads its training settings from
    ``config`` (for a codec, its ``[codecs.<name>]`` table), writes its
    artifacts into ``outdir``, reports progress through
    ``progress.task(description, total)``, and returns a
    :class:`TrainResult`: the settings that point the codec at its artifacts,
    which go into the written ``auracodec.toml``. Return ``None`` to skip
    (nothing to learn, or too little data; say so with a warning).

    ``outdir`` becomes the profile that both ends of a connection load, and
    that may be served to clients: write there only what encoding or decoding
    needs. What only a later training needs (a miner's state, counts,
    samples) goes into ``statedir``, which is never part of a profile.

    :param corpus: the messages, in corpus order.
    :param outdir: an existing directory; write artifacts here and reference
        them by name relative to it. When training continues an earlier
        profile, it holds a copy of that profile's files.
    :param config: the configuration training started from.
    :param progress: where long work reports how far it got.
    :param normalizers: the registered normalizers (slot types), by name.
    :param statedir: an existing directory for training state, kept from one
        training to the next of the same profile (it holds what the previous
        training left there). It may hold training messages verbatim and is
        documented as such; it is never served or shipped. Since auracodec 0.2.
    """


@hookspec(firstresult=True)
def auracodec_codec_context(codec: Codec, direction: str) -> CodecContext | None:
    """A codec's context for one direction of a new session, or ``None``.

    First result wins. Called once per codec and direction when a session is
    made. A plugin returns a context for the codecs it knows (its own,
    usually) and ``None`` for the rest; codecs without a context work
    statelessly inside sessions. The contract is
    :class:`~auracodec.plugin.CodecContext`; a context that breaks it (an id
    another codec or context has, a missing method) is refused at both ends
    alike, and that codec works statelessly.

    :param codec: a codec of the session's pipeline.
    :param direction: ``"out"`` (what this end sends) or ``"in"``.
    """


@hookspec(firstresult=True)
def auracodec_cost_model(codec: Codec | CodecContext) -> CostModel | None:
    """What a codec, or a session context, costs: its declared prior.

    First result wins. Called once per codec and per kind of session context
    when a pipeline first needs it. Return a
    :class:`~auracodec.plugin.CostModel` (expected ratio, CPU per message and
    per byte for encoding and decoding, and for a context the share of the
    encoding cost that absorbing a message costs anyway) for the codecs this
    plugin provides, and ``None`` for the rest. The ``cost`` selector policy
    starts from it, then from what ``auracodec train`` measured, and refines
    both as it runs; a codec that declares nothing is assumed to cost
    :data:`~auracodec.core.cost.DEFAULT_COST_MODEL` until measured. An
    implementation that raises or returns something else is contained like
    a context hook.

    :param codec: a codec of the pipeline, or a session context of one (its
        ``method_id`` is the context's).

    Since auracodec 0.2.
    """


@hookspec
def auracodec_message_encoded(event: MessageEvent) -> None:
    """Observe a message a pipeline or session encoded (metrics, audit).

    Called once per message, after the frame is made, in the encoding thread;
    the result is ignored. An exception is contained (counted, logged once).

    :param event: the message, its method, the frame's size, the time taken
        and, for a session's message, the session id
        (:class:`~auracodec.plugin.MessageEvent`, ``direction="out"``).
    """


@hookspec
def auracodec_message_decoded(event: MessageEvent) -> None:
    """Observe a message a pipeline or session decoded (metrics, audit).

    Called once per frame that decoded, in the decoding thread; the result is
    ignored. An exception is contained (counted, logged once).

    :param event: as for ``auracodec_message_encoded``, ``direction="in"``.
    """


@hookspec
def auracodec_session_opened(session: Session) -> None:
    """Observe a session a pipeline opened (:meth:`Pipeline.session`).

    Called once per session, in the thread that opened it, before any message;
    the result is ignored. An exception is contained (counted in the
    pipeline's stats, logged once). A session has no ``close``: it ends when
    it is garbage collected, so keep it, if at all, in a
    :class:`weakref.WeakSet`, and read it (``session.memory()``,
    ``session.stats``) only to report on it: a session is not thread-safe.
    The prometheus observer counts open sessions and their memory this way.

    :param session: the new :class:`~auracodec.Session`.

    Since auracodec 0.2.
    """


@hookspec(firstresult=True)
def auracodec_redact(text: str, event: MessageEvent) -> str | None:
    """What an audit log records instead of a message's plaintext, or ``None``.

    First result wins; ``None`` from every implementation keeps the text.
    Mask personal data here (emails, card numbers, tokens). Called by
    observers that log text (the audit log), once per logged message; if it
    raises, that observer's record is dropped (contained), never written
    unredacted.

    :param text: the message, decoded as UTF-8.
    :param event: the message's event (method, sizes, session, direction).
    """


@hookspec
def auracodec_decode_failed(frame_size: int, error: Exception, session: str | None) -> None:
    """Observe a frame that failed to decode.

    Called once per failed frame, in the decoding thread; the result is
    ignored. An exception is contained (counted, logged once). The frame
    itself is not passed: it is untrusted and may be large.

    :param frame_size: the frame's length in bytes.
    :param error: the :class:`~auracodec.DecodeError` the caller gets.
    :param session: the session id, or ``None`` for a pipeline's frame.
    """
