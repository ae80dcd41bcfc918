"""Write docs/config.md from the settings the kernel and the built-in plugins
declare: ``python docs/make_config_reference.py``. A test fails when the file
is out of date, so the reference cannot drift from the code."""

from __future__ import annotations

from pathlib import Path

from auracodec.core.config import KERNEL_SETTINGS
from auracodec.core.registry import Registry
from auracodec.core.settings import Setting

OUT = Path(__file__).with_name("config.md")

INTRO = """\
# Configuration reference

auracodec reads `auracodec.toml`, or the `[tool.auracodec]` table of a
`pyproject.toml`, or the `auracodec.toml` inside a directory written by
`auracodec train`. Pass it as `Pipeline.from_config(path)` or `--config PATH`.
With no file, every key takes its default.

Every key is checked: an unknown key, a value of the wrong type or range, a
missing or corrupt artifact, or TOML nested more than 8 levels deep is a
`ConfigError` that names the file, the key and what was expected, for example

    auracodec.toml: codecs.zstd.level: expected an integer from 1 to 22, got 99 (int)

Paths are relative to the file that names them. Keys marked *training* are
read by `auracodec train` only. Settings that only steer an encoder (levels,
qualities) do not change the wire format; a pipeline's `fingerprint` changes
exactly when two pipelines could not decode each other's frames.

This file is generated from the code (`python docs/make_config_reference.py`);
plugins that are not built in document their own tables.
"""


def table(settings: list[Setting] | tuple[Setting, ...]) -> list[str]:
    lines = ["| key | default | expected | meaning |", "|---|---|---|---|"]
    for s in settings:
        default = "(none)" if s.default is None else f"`{_toml(s.default)}`"
        doc = s.doc + (" *(training)*" if s.training_only else "")
        lines.append(f"| `{s.name}` | {default} | {s.expected} | {doc} |")
    return lines


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{}" if not value else str(value)
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."


def render() -> str:
    reg = Registry.load()
    out = [INTRO]
    out += ["## `[pipeline]`", "", *table(KERNEL_SETTINGS["pipeline"]), ""]
    out += ["## `[plugins]`", "", *table(KERNEL_SETTINGS["plugins"]), ""]
    out += [
        "## `[selector]`",
        "",
        "`policy` and `verify` are the kernel's; the other keys of the table belong to",
        "the chosen policy.",
        "",
        *table(KERNEL_SETTINGS["selector"]),
        "",
    ]
    for name, ptype in sorted(reg.policy_types.items()):
        if not reg.owner[("auracodec_selector_policies", name)].builtin:
            continue
        out += [f'### `policy = "{name}"`', "", _sentence(ptype.summary), ""]
        out += table(ptype.settings) if ptype.settings else ["No settings."]
        out.append("")
    out += [
        "## `[session]`",
        "",
        "Sessions made by `Pipeline.session()` (docs/sessions.md).",
        "",
        *table(KERNEL_SETTINGS["session"]),
        "",
    ]
    out += [
        "## `[health]`",
        "",
        "Targets `Pipeline.health()` checks the pipeline's stats against (docs/metrics.md).",
        "",
        *table(KERNEL_SETTINGS["health"]),
        "",
        "## `[training]`",
        "",
        "Read by `auracodec train` (docs/client-profiles.md); the profile it writes",
        "keeps the table, which does not change decoding.",
        "",
        *table(KERNEL_SETTINGS["training"]),
        "",
    ]
    out += [
        "## `[codecs.<name>]`",
        "",
        "One table per codec; see `auracodec plugins` for what is installed.",
        "",
    ]
    for name, ctype in sorted(reg.codec_types.items()):
        if not reg.codec_owner(name).builtin:
            continue
        out += [
            f"### `[codecs.{name}]` (method id `0x{ctype.method_id:02x}`)",
            "",
            _sentence(ctype.summary),
            "",
        ]
        out += table(list(ctype.settings)) if ctype.settings else ["No settings."]
        out.append("")
    out += [
        "## `[observers.<name>]`",
        "",
        "Observers run only where their table is present (none by default).",
        "",
    ]
    for name, otype in sorted(reg.observer_types.items()):
        if not reg.owner[("auracodec_observer_types", name)].builtin:
            continue
        out += [f"### `[observers.{name}]`", "", _sentence(otype.summary), ""]
        out += table(list(otype.settings))
        out.append("")
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}")
