"""``auracodec profiles``: manage a profile store (:mod:`auracodec.core.store`).

::

    auracodec profiles list STORE
    auracodec profiles show STORE [ID] [--verify]
    auracodec profiles diff STORE ID_A ID_B
    auracodec profiles select STORE ID          # a rollback selects an earlier id
    auracodec profiles gc STORE [--keep-recent N] [--keep-days D] [--dry-run]
    auracodec profiles add STORE DIR [--state-dir DIR] [--no-select]

``ID`` is ``current``, a full id or a unique prefix of at least 4 hex
digits. Reports go to stdout; ``show --verify`` exits with 1 when the version
does not match its manifest.
"""

from __future__ import annotations

import argparse
import datetime
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..core.errors import AuraError
from ..core.refs import CURRENT
from ..core.store import Manifest, ProfileStore
from ..core.training import default_state_dir
from ._command import Failed, HelpFormatter, Subparsers, add_command
from ._output import report_console


def add_parser(sub: Subparsers) -> None:
    c = add_command(
        sub,
        "profiles",
        "Manage a profile store: list, show, diff, select (roll back), gc, add versions.",
        run,
    )
    actions = c.add_subparsers(dest="action", required=True, metavar="ACTION")

    def action(name: str, help: str) -> argparse.ArgumentParser:
        a = actions.add_parser(name, help=help, description=help, formatter_class=HelpFormatter)
        a.add_argument("store", metavar="STORE", help="the profile store's directory")
        return a

    action("list", "List the versions: id, when made, parent, fingerprint, size, current.")
    a = action("show", "Show a version: manifest, files, config, training state.")
    a.add_argument("ref", nargs="?", default=CURRENT, metavar="ID", help="default: current")
    a.add_argument(
        "--verify",
        action="store_true",
        help="check every file's SHA-256 against the manifest, recompute the id and build the "
        "pipeline (exit status 1 if anything differs)",
    )
    a = action("diff", "What changed from version A to version B: files, config, templates.")
    a.add_argument("ref_a", metavar="ID_A")
    a.add_argument("ref_b", metavar="ID_B")
    a = action(
        "select",
        "Make a version current (new connections use it); selecting an earlier one is a "
        "rollback. Logged in refs/history.",
    )
    a.add_argument("ref", metavar="ID")
    a = action(
        "gc",
        "Remove versions that are not current, not among the last ones used and not recent.",
    )
    a.add_argument(
        "--keep-recent",
        type=int,
        default=3,
        metavar="N",
        help="keep the last N distinct versions of the history",
    )
    a.add_argument(
        "--keep-days",
        type=float,
        default=7.0,
        metavar="D",
        help="keep versions made less than D days ago",
    )
    a.add_argument("--dry-run", action="store_true", help="say what would go; remove nothing")
    a = action("add", "Add a plain profile directory (auracodec train -o) as a version.")
    a.add_argument("profile", metavar="DIR")
    a.add_argument(
        "--state-dir",
        metavar="STATE",
        help="its training state, copied into the store (default: DIR.training if present)",
    )
    a.add_argument("--no-select", action="store_true", help="do not make it current")


def run(args: argparse.Namespace, err: Console) -> int:
    out = report_console()
    if args.action == "add":
        return _add(args, out)
    store = ProfileStore.open(args.store)
    if args.action == "list":
        return _list(store, out)
    if args.action == "show":
        return _show(store, args.ref, args.verify, out)
    if args.action == "diff":
        return _diff(store, args.ref_a, args.ref_b, out)
    if args.action == "select":
        return _select(store, args.ref, out)
    return _gc(store, args, out)


def _list(store: ProfileStore, out: Console) -> int:
    versions = store.versions()
    if not versions:
        out.print(f"{store.root}: no versions yet")
        return 0
    current = store.current
    t = Table(title=f"profile store {store.root}", title_justify="left")
    for col in ("", "id", "created (UTC)", "parent", "fingerprint", "messages", "size", "state"):
        t.add_column(col, justify="right" if col in ("messages", "size", "state") else "left")
    for v in versions:
        m = v.manifest
        t.add_row(
            "*" if v.id == current else "",
            v.id[:12],
            _when(m.created),
            m.parent[:12] if m.parent else "-",
            m.fingerprint,
            f"{m.messages:,}" if m.messages else "-",
            _size(m.size),
            _size(v.state_size) if v.state_size else "-",
            style="bold" if v.id == current else "",
        )
    out.print(t)
    total = sum(v.manifest.size + v.state_size for v in versions)
    out.print(
        f"{len(versions)} versions, {_size(total)} with their training states; "
        + (f"* current: {current[:12]}" if current else "no current version")
    )
    return 0


def _show(store: ProfileStore, ref: str, verify: bool, out: Console) -> int:
    vid = store.resolve(ref)
    m = store.manifest(vid)
    path = store.path(vid)
    state = store.state_path(vid)
    tag = " (current)" if vid == store.current else ""
    out.print(Text.assemble(("version ", "bold"), (vid, "bold"), tag))
    rows = [
        ("fingerprint", m.fingerprint),
        ("created", f"{_when(m.created)} UTC, auracodec {m.auracodec or '?'}"),
        ("parent", m.parent or "none"),
        (
            "trained on",
            f"{m.messages:,} messages ({_size(m.message_bytes)})"
            if m.messages
            else "(added, not trained here)",
        ),
        ("profile", f"{path} ({_size(m.size)}): serve this directory to peers"),
        (
            "training state",
            f"{state} ({_size(_dir_size(state))}): training messages verbatim, never serve it"
            if state.is_dir()
            else "none kept",
        ),
    ]
    for key, value in rows:
        out.print(Text.assemble((f"  {key}: ", "dim"), value))
    t = Table(title="files", title_justify="left")
    for col in ("name", "role", "size", "sha256"):
        t.add_column(col, justify="right" if col == "size" else "left")
    for f in m.files:
        t.add_row(Text(f.name), f.role, _size(f.size), f.sha256[:16])
    out.print(t)
    for line in _config_summary(path, m):
        out.print(Text(line))
    if not verify:
        return 0
    problems = store.verify(vid)
    if problems:
        for p in problems:
            out.print(Text.assemble(("  mismatch: ", "red"), p))
        raise Failed(f"version {vid[:12]} does not match its manifest ({len(problems)} problems)")
    out.print(
        Text.assemble(
            ("verified: ", "green"),
            f"every file matches the manifest, the content's id is {vid[:12]}, and the "
            f"pipeline builds with fingerprint {m.fingerprint}",
        )
    )
    return 0


def _config_summary(path: Path, m: Manifest) -> list[str]:
    data = tomllib.loads((path / "auracodec.toml").read_text(encoding="utf-8"))
    lines = ["config:"]
    pipeline = data.get("pipeline", {})
    selector = data.get("selector", {})
    lines.append(
        f"  policy {selector.get('policy', 'cost')}, max_message_size "
        f"{pipeline.get('max_message_size', 'default')}"
        + (f", codecs {', '.join(pipeline['codecs'])}" if "codecs" in pipeline else "")
    )
    for name, table in sorted(data.get("codecs", {}).items()):
        shown = ", ".join(f"{k} = {_short(v)}" for k, v in table.items())
        lines.append(f"  [codecs.{name}] {shown}")
    for f in m.files:
        templates = _templates(path / f.name) if f.role == "decoding" else None
        if templates is not None:
            retired = sum(r for _, r in templates.values())
            lines.append(f"  {f.name}: {len(templates)} templates ({retired} retired)")
    if m.trained:
        chosen = "; ".join(f"{t}: {', '.join(keys)}" for t, keys in sorted(m.trained.items()))
        lines.append(f"  chosen by training (chosen again when training continues): {chosen}")
    return lines


def _diff(store: ProfileStore, ref_a: str, ref_b: str, out: Console) -> int:
    d = store.diff(ref_a, ref_b)
    a, b = d.a, d.b
    out.print(Text.assemble(("from ", "dim"), a.id[:12], (" to ", "dim"), b.id[:12]))
    if a.fingerprint == b.fingerprint:
        out.print(f"  fingerprint {a.fingerprint} (unchanged: frames of either decode with both)")
    else:
        out.print(
            f"  fingerprint {a.fingerprint} -> {b.fingerprint}: frames of one do not decode "
            "with the other's pipeline (hold both for decoding while peers move)"
        )
    t = Table(title="files", title_justify="left")
    for col in ("name", "role", "change", "size A", "size B"):
        t.add_column(col, justify="right" if col.startswith("size") else "left")
    for f in d.files:
        t.add_row(
            Text(f.name),
            f.role,
            f.status,
            _size(f.size_a) if f.size_a is not None else "-",
            _size(f.size_b) if f.size_b is not None else "-",
            style="dim" if f.status == "same" else "",
        )
    out.print(t)
    if d.config:
        out.print("config keys changed:")
        for k in d.config:
            out.print(Text(f"  {k.key}: {_short(k.a)} -> {_short(k.b)}"))
    else:
        out.print("config keys: unchanged")
    ta = _version_templates(store.path(a.id), a)
    tb = _version_templates(store.path(b.id), b)
    if ta or tb:
        added = sorted(set(tb) - set(ta))
        removed = sorted(set(ta) - set(tb))
        common = set(ta) & set(tb)
        rewritten = sorted(i for i in common if ta[i][0] != tb[i][0])
        retired = sorted(i for i in common if tb[i][1] and not ta[i][1])
        out.print(
            f"templates: {len(added)} added{_ids(added)}, {len(removed)} removed{_ids(removed)}, "
            f"{len(retired)} newly retired{_ids(retired)}; {len(common) - len(rewritten)} of "
            f"{len(common)} ids kept with the same text"
        )
        if rewritten:
            out.print(
                Text.assemble(
                    ("  ids whose text changed: ", "red"),
                    f"{_ids(rewritten).strip(' ()')} (the libraries are not one lineage)",
                )
            )
    return 0


def _select(store: ProfileStore, ref: str, out: Console) -> int:
    vid = store.resolve(ref)
    before = store.current
    if before == vid:
        out.print(f"{vid[:12]} is already current; nothing changed")
        return 0
    store.select(vid)
    reason = store.history()[-1].reason
    out.print(
        f"current: {vid[:12]} (was {before[:12] if before else 'unset'}; logged as {reason}). "
        "New connections use it; running processes load it when they next load the store."
    )
    return 0


def _gc(store: ProfileStore, args: argparse.Namespace, out: Console) -> int:
    if args.keep_recent < 0 or args.keep_days < 0:
        raise AuraError("--keep-recent and --keep-days must be at least 0")
    result = store.gc(keep_recent=args.keep_recent, keep_days=args.keep_days, dry_run=args.dry_run)
    verb = "would remove" if result.dry_run else "removed"
    for vid in result.removed:
        out.print(f"{verb} version {vid[:12]} and its training state")
    for name in result.leftovers:
        out.print(Text(f"{verb} {name} (left over)"))
    for vid, why in sorted(result.kept.items(), key=lambda kv: kv[1]):
        out.print(f"kept {vid[:12]}: {why}")
    n = len(result.removed)
    freed = "would free" if result.dry_run else "freed"
    out.print(f"{verb} {n} version{'' if n == 1 else 's'}; {freed} {_size(result.freed)}")
    return 0


def _add(args: argparse.Namespace, out: Console) -> int:
    profile = Path(args.profile)
    state = Path(args.state_dir) if args.state_dir else default_state_dir(profile)
    store = ProfileStore.create(args.store)
    stored = store.add(profile, state=state if state.is_dir() else None, select=not args.no_select)
    what = "added" if stored.new else "already in the store as"
    out.print(f"{what} version {stored.id} (fingerprint {stored.fingerprint})")
    if stored.selected:
        out.print(f"current: {stored.id[:12]}")
    for name in stored.copied_in:
        out.print(Text(f"  copied into the version: {name} (the config named it outside)"))
    for name in stored.left_out:
        out.print(Text(f"  left out: {name} (its config does not name it)"))
    return 0


# -- helpers ------------------------------------------------------------------------------


def _templates(path: Path) -> dict[int, tuple[str, bool]] | None:
    """A template library's ids -> (text, retired); ``None`` if ``path`` is not one."""
    if path.suffix != ".toml":
        return None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    entries = data.get("template")
    if "library" not in data or not isinstance(entries, list):
        return None
    found: dict[int, tuple[str, bool]] = {}
    for e in entries:
        if isinstance(e, dict) and isinstance(e.get("id"), int):
            found[e["id"]] = (str(e.get("text", "")), bool(e.get("retired", False)))
    return found


def _version_templates(path: Path, m: Manifest) -> dict[int, tuple[str, bool]]:
    found: dict[int, tuple[str, bool]] = {}
    for f in m.files:
        if f.role == "decoding":
            found.update(_templates(path / f.name) or {})
    return found


def _ids(ids: list[int]) -> str:
    if not ids:
        return ""
    shown = ", ".join(map(str, ids[:10])) + (", ..." if len(ids) > 10 else "")
    return f" (ids {shown})"


def _short(value: Any) -> str:
    if value is None:
        return "(absent)"
    text = repr(value) if not isinstance(value, (Mapping, list)) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _when(created: str) -> str:
    try:
        t = datetime.datetime.fromisoformat(created.replace("Z", "+00:00"))
    except ValueError:
        return created
    return t.strftime("%Y-%m-%d %H:%M:%S")


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / (1024 * 1024):.1f} MB"


def _dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
