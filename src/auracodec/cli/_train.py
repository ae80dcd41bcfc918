"""``auracodec train``: every trainable plugin learns from a corpus; a profile is written.

Into a profile store (``--store``, :mod:`auracodec.core.store`), training adds
a new immutable version and makes it current; it can continue from an earlier
version (``--from``). The version's id is printed on stdout.

Into a plain directory (``-o``), the new profile is trained beside the output
directory and put in its place only when complete
(:class:`~auracodec.core.training.ProfileUpdate`). An existing profile is not
replaced by one with another fingerprint, which would leave every frame made
with it undecodable, unless ``--force`` says so.

Either way the training state (the template miner's, which holds training
messages verbatim) is kept apart from the profile: ``STORE/training/<id>/``,
or ``DIR.training/`` beside a plain profile (``--state-dir``).
"""

from __future__ import annotations

import argparse
import sys

from rich.console import Console

from ..core.config import Config
from ..core.corpus import Sample, read_corpus
from ..core.errors import AuraError
from ..core.pipeline import Pipeline
from ..core.sizing import describe_transfer, with_size
from ..core.store import ProfileStore, StoredVersion
from ..core.training import (
    CONFIG_NAME,
    ESTIMATES_NAME,
    ProfileUpdate,
    TrainedProfile,
    train,
)
from ._command import Subparsers, add_command, add_config_option
from ._output import TaskProgress, progress_bars, tagged


def add_parser(sub: Subparsers) -> None:
    c = add_command(sub, "train", "Train every trainable plugin on a corpus; write a profile.", run)
    c.add_argument("corpus", nargs="+", metavar="CORPUS")
    where = c.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "-o",
        "--output",
        metavar="DIR",
        help="plain profile directory; an existing profile is the starting point (templates "
        "are discovered further) and is replaced once the new one is complete",
    )
    where.add_argument(
        "--store",
        metavar="STORE",
        help="profile store (made if missing): training adds a new immutable version, never "
        "changing an existing one, makes it current and prints its id on stdout",
    )
    c.add_argument(
        "--from",
        dest="parent",
        metavar="ID",
        help="with --store: continue from this version ('current', an id or a unique "
        "prefix): its config and training state are the starting point, its templates "
        "keep their ids",
    )
    c.add_argument(
        "--no-select",
        action="store_true",
        help="with --store: add the version without making it current "
        "(select it later with 'auracodec profiles select')",
    )
    c.add_argument(
        "--state-dir",
        metavar="STATE",
        help="with -o: the training state directory (it holds training messages "
        "verbatim; never serve it); default: DIR.training beside the profile DIR",
    )
    add_config_option(c)
    c.add_argument(
        "--size",
        metavar="client|server|BYTES",
        help="what to size the profile for: server (the codecs' defaults), client (a "
        "profile browsers download: about 80 KB) or a target transfer size in bytes (such "
        "as 300KB); sets [training] size (docs/client-profiles.md)",
    )
    c.add_argument(
        "--force",
        action="store_true",
        help="with -o: replace an existing profile even when frames made with it would no "
        "longer decode",
    )


def run(args: argparse.Namespace, err: Console) -> int:
    if args.store is None:
        for option, given in (
            ("--from", args.parent),
            ("--no-select", args.no_select),
        ):
            if given:
                raise AuraError(f"{option} is for training into a profile store (--store)")
    elif args.force or args.state_dir:
        option = "--force" if args.force else "--state-dir"
        raise AuraError(
            f"{option} is for a plain profile directory (-o); a profile store never "
            "replaces a version and keeps training state in STORE/training/"
        )
    samples = read_corpus(args.corpus)
    if not samples:
        raise AuraError("the corpus holds no messages")
    config = Config.load(args.config) if args.config else None
    if args.size is not None:
        config = with_size(config or Config.defaults(), args.size)
    if args.store is not None:
        return _into_store(args, err, samples, config)
    return _into_directory(args, err, samples, config)


def _into_store(
    args: argparse.Namespace, err: Console, samples: list[Sample], config: Config | None
) -> int:
    store = ProfileStore.create(args.store)
    parent = store.resolve(args.parent) if args.parent else None
    _say_training(err, samples)
    if parent is not None:
        err.print(f"  continuing from version {parent[:12]}")
    with progress_bars(err) as progress:
        stored = store.train(
            samples,
            parent=parent,
            config=config,
            progress=TaskProgress(progress),
            select=not args.no_select,
        )
    if parent is not None and not stored.state_resumed:
        err.print(
            f"  version {parent[:12]} kept no training state: templates keep their ids, "
            "the miner started afresh"
        )
    if stored.training is not None:
        _say_results(err, stored.training, len(samples))
    _say_stored(err, store, stored)
    sys.stdout.write(stored.id + "\n")
    return 0


def _say_stored(err: Console, store: ProfileStore, stored: StoredVersion) -> None:
    parent = stored.parent[:12] if stored.parent else "none"
    err.print(
        f"version {stored.id[:12]} in {store.root} (fingerprint {stored.fingerprint}, "
        f"parent {parent})"
    )
    if not stored.new:
        err.print("  identical to a version already in the store: nothing new written")
    for name in stored.copied_in:
        err.print(f"  copied into the version: {name} (the config named it outside)")
    for name in stored.left_out:
        err.print(f"  left out of the version: {name} (its config does not name it)")
    if stored.selected:
        err.print(f"  current: new connections use {stored.id[:12]}")
    else:
        current = store.current
        err.print(
            f"  not selected: current stays {current[:12] if current else 'unset'} "
            f"('auracodec profiles select {store.root} {stored.id[:12]}')"
        )
    err.print(
        f"  training state: {store.root / 'training' / stored.id} (training messages "
        "verbatim: never serve it)"
    )


def _say_training(err: Console, samples: list[Sample]) -> None:
    err.print(f"training on {len(samples)} messages ({sum(len(s.data) for s in samples)} bytes)")


def _say_results(err: Console, profile: TrainedProfile, messages: int) -> None:
    for r in profile.results:
        err.print(f"  {r.codec}: {r.summary}")
    if profile.costs_measured:
        held = "held-out " if profile.costs_measured < messages // 2 else ""
        err.print(
            f"  costs: every codec measured on {profile.costs_measured} {held}messages "
            f"({ESTIMATES_NAME}, for the cost policy)"
        )


def _into_directory(
    args: argparse.Namespace, err: Console, samples: list[Sample], config: Config | None
) -> int:
    with ProfileUpdate.begin(args.output, args.state_dir) as update:
        before = _fingerprint_before(update, force=args.force)
        _say_training(err, samples)
        with progress_bars(err) as progress:
            profile = train(
                samples,
                update.staging,
                config=config,
                progress=TaskProgress(progress),
                state_dir=update.state_staging,
            )
        _say_results(err, profile, len(samples))
        trained = Pipeline.from_config(update.staging)  # proves the profile loads
        after = trained.fingerprint
        if trained.config.training_size is not None:
            err.print(f"  {describe_transfer(trained)}")
        changed = update.existing and before != after
        if changed and not args.force:
            raise AuraError(
                f"not replacing the profile in {update.target}: training changed its "
                f"fingerprint from {before} to {after}, so frames made with the existing "
                "profile would no longer decode. The existing profile is unchanged. Run again "
                "with --force to replace it anyway, write the new profile to another "
                "directory with -o, or keep versions in a profile store (--store)."
            )
        update.commit()
    err.print(f"wrote {update.target / CONFIG_NAME} (fingerprint {after})")
    err.print(f"training state: {update.state_target} (training messages verbatim: never serve it)")
    if changed:
        err.print(
            tagged(
                "warning: ",
                f"replaced a profile of fingerprint {before or 'unknown'}: frames made with "
                "it no longer decode with this one",
                "yellow",
            )
        )
    return 0


def _fingerprint_before(update: ProfileUpdate, *, force: bool) -> str | None:
    """The existing profile's fingerprint; ``None`` if there is none, or (with
    ``--force``) if it does not load."""
    if not update.existing:
        return None
    try:
        return Pipeline.from_config(update.target).fingerprint
    except AuraError as exc:
        if force:
            return None
        raise AuraError(
            f"the existing profile in {update.target} does not load ({exc}), so whether "
            "frames made with it would still decode cannot be checked. Run again with "
            "--force to replace it, or write the new profile to another directory with -o."
        ) from exc
