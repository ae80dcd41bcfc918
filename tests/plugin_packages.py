"""Throwaway plugin distributions, installed the way pip would leave them.

A test writes a ``*.dist-info`` directory (``METADATA``, ``entry_points.txt``)
and one module per plugin into a directory on ``sys.path`` (the ``site``
fixture in conftest.py); ``importlib.metadata`` then finds them as installed
packages, so plugins load through real entry points.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

#: A codec plugin module. ``{patch}`` is module code run after the defaults,
#: which breaks one thing (replaces a method, an attribute, ``make`` or the hook).
CODEC = """
from auracodec.plugin import CodecType, PolicyType, hookimpl

class Codec:
    name = {name!r}
    method_id = {method_id}
    thread_safe = True
    detects = frozenset()
    cost = 5

    def encode(self, message):
        return None

    def decode(self, payload, limit):
        return payload

    def max_payload_size(self, size):
        return size

    def fingerprint(self):
        return {{"format": 1}}

def make(settings):
    return Codec()

@hookimpl
def auracodec_codec_types():
    return [CodecType({name!r}, {method_id}, lambda settings: make(settings))]

{patch}
"""


def codec(name: str, method_id: int, patch: str = "") -> str:
    """The source of a plugin module declaring one codec (raw bytes behind an id)."""
    return CODEC.format(name=name, method_id=method_id, patch=textwrap.dedent(patch))


def install(root: Path, package: str, plugins: dict[str, str]) -> None:
    """Write a distribution ``package`` 1.0 with one module per plugin (name -> source).

    The ``site`` fixture forgets these modules after each test, so a module
    name reused by the next test is imported afresh.
    """
    dist = root / f"{package.replace('-', '_')}-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: 1.0\n")
    lines = ["[auracodec.plugins]"]
    for name, source in plugins.items():
        module = f"{package}_{name}".replace("-", "_").replace(".", "_")
        (root / f"{module}.py").write_text(textwrap.dedent(source))
        lines.append(f"{name} = {module}")
    (dist / "entry_points.txt").write_text("\n".join(lines) + "\n")
