"""``auracodec train``: every trainable plugin learns from a corpus; a profile is written."""

from __future__ import annotations

import argparse

from rich.console import Console

from ..core.config import Config
from ..core.corpus import read_corpus
from ..core.errors import AuraError
from ..core.pipeline import Pipeline
from ..core.training import train
from ._command import Subparsers, add_command, add_config_option
from ._output import TaskProgress, progress_bars


def add_parser(sub: Subparsers) -> None:
    c = add_command(sub, "train", "Train every trainable plugin on a corpus; write a profile.", run)
    c.add_argument("corpus", nargs="+", metavar="CORPUS")
    c.add_argument("-o", "--output", required=True, metavar="DIR", help="profile directory")
    add_config_option(c)


def run(args: argparse.Namespace, err: Console) -> int:
    samples = read_corpus(args.corpus)
    if not samples:
        raise AuraError("the corpus holds no messages")
    config = Config.load(args.config) if args.config else None
    err.print(f"training on {len(samples)} messages ({sum(len(s.data) for s in samples)} bytes)")
    with progress_bars(err) as progress:
        profile = train(samples, args.output, config=config, progress=TaskProgress(progress))
    for r in profile.results:
        err.print(f"  {r.codec}: {r.summary}")
    pipe = Pipeline.from_config(profile.config_path)  # proves the profile loads
    err.print(f"wrote {profile.config_path} (fingerprint {pipe.fingerprint})")
    return 0
