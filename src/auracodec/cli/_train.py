"""``auracodec train``: every trainable plugin learns from a corpus; a profile is written.

The new profile is trained beside the output directory and put in its place
only when complete (:class:`~auracodec.core.training.ProfileUpdate`). Until
profiles are versioned, an existing profile is not replaced by one with
another fingerprint, which would leave every frame made with it undecodable,
unless ``--force`` says so.
"""

from __future__ import annotations

import argparse

from rich.console import Console

from ..core.config import Config
from ..core.corpus import read_corpus
from ..core.errors import AuraError
from ..core.pipeline import Pipeline
from ..core.sizing import describe_transfer, with_size
from ..core.training import CONFIG_NAME, ESTIMATES_NAME, ProfileUpdate, train
from ._command import Subparsers, add_command, add_config_option
from ._output import TaskProgress, progress_bars, tagged


def add_parser(sub: Subparsers) -> None:
    c = add_command(sub, "train", "Train every trainable plugin on a corpus; write a profile.", run)
    c.add_argument("corpus", nargs="+", metavar="CORPUS")
    c.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="DIR",
        help="profile directory; an existing profile is the starting point (templates "
        "are discovered further) and is replaced once the new one is complete",
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
        help="replace an existing profile even when frames made with it would no longer decode",
    )


def run(args: argparse.Namespace, err: Console) -> int:
    samples = read_corpus(args.corpus)
    if not samples:
        raise AuraError("the corpus holds no messages")
    config = Config.load(args.config) if args.config else None
    if args.size is not None:
        config = with_size(config or Config.defaults(), args.size)
    with ProfileUpdate.begin(args.output) as update:
        before = _fingerprint_before(update, force=args.force)
        err.print(
            f"training on {len(samples)} messages ({sum(len(s.data) for s in samples)} bytes)"
        )
        with progress_bars(err) as progress:
            profile = train(samples, update.staging, config=config, progress=TaskProgress(progress))
        for r in profile.results:
            err.print(f"  {r.codec}: {r.summary}")
        if profile.costs_measured:
            held = "held-out " if profile.costs_measured < len(samples) // 2 else ""
            err.print(
                f"  costs: every codec measured on {profile.costs_measured} {held}messages "
                f"({ESTIMATES_NAME}, for the cost policy)"
            )
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
                "with --force to replace it anyway, or write the new profile to another "
                "directory with -o."
            )
        update.commit()
    err.print(f"wrote {update.target / CONFIG_NAME} (fingerprint {after})")
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
