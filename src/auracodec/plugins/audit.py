"""``audit``: a plaintext JSONL log of every message, for the server's records.

Off by default: it runs only where the config has an ``[observers.audit]``
table::

    [observers.audit]
    path = "audit/messages.jsonl"    # relative to the config file
    max_bytes = 67108864             # rotate when the file passes 64 MiB
    rotate_every = 86400             # ... or when it is a day old (0: never)
    keep = 7                         # rotated files kept; older ones deleted
    include_text = true              # false: sizes and methods only

One line per message::

    {"time": "2025-10-23T10:30:00.123456+00:00", "session": "s3", "direction": "in",
     "method": "brio+context", "size": 118, "frame_size": 31, "elapsed_us": 24.1,
     "text": "..."}

and one per frame that failed to decode (``"error"``, ``"detail"``). The text
goes through the ``auracodec_redact`` hook first, where a plugin can mask
personal data; bytes that are not UTF-8 are logged as base64 (``"data"``).

Rotation renames the file to ``<path>.<UTC time>`` (``<path>.<UTC
time>-0001`` and so on for rotations within one microsecond, so names sort by
time) and starts a new one; retention deletes the oldest rotated files beyond
``keep``. The log lists its directory once, at its first rotation, and then
keeps its own list of the rotated files, so a rotation costs the same however
many there are. A process killed in the middle of a record (``kill -9``)
leaves a partial line: the log ends that line when it opens the file again,
so the next record starts on a line of its own.

Writes are serialised by a lock, so one log may serve many threads (one
process per log file). ``close()`` may be called any number of times, from any
thread.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import re
import threading
import time
import weakref
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from auracodec.plugin import MessageEvent, ObserverType, Setting, SettingError, hookimpl

NAME = "audit"

SETTINGS = (
    Setting.path("path", "The log file (JSONL); rotated files sit beside it."),
    Setting.integer(
        "max_bytes", 64 << 20, 1024, 1 << 40, "Rotate when the file grows past this size."
    ),
    Setting.integer(
        "rotate_every",
        86400,
        0,
        10 * 365 * 86400,
        "Rotate when the file is this many seconds old (0: never).",
    ),
    Setting.integer("keep", 7, 0, 100_000, "Rotated files to keep; older ones are deleted."),
    Setting.boolean("include_text", True, "Log the (redacted) message text."),
)


class AuditLog:
    """The observer: write, rotate, retain."""

    def __init__(
        self,
        path: Path,
        *,
        max_bytes: int,
        rotate_every: int,
        keep: int,
        include_text: bool,
        hook: Any = None,
    ) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.rotate_every = rotate_every
        self.keep = keep
        self.include_text = include_text
        self._hook = hook
        self._lock = threading.Lock()
        self._file: TextIO | None = None
        self._closer: weakref.finalize[[], AuditLog] | None = None
        self._opened = 0.0
        #: Rotated files, oldest first; None until the first rotation lists them.
        self._rotated: deque[Path] | None = None
        self._last_stamp = ""
        self._same_stamp = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)

    # -- the hooks --------------------------------------------------------------------

    @hookimpl
    def auracodec_message_encoded(self, event: MessageEvent) -> None:
        self._write(self._record(event))

    @hookimpl
    def auracodec_message_decoded(self, event: MessageEvent) -> None:
        self._write(self._record(event))

    @hookimpl
    def auracodec_decode_failed(
        self, frame_size: int, error: Exception, session: str | None
    ) -> None:
        self._write(
            {
                "time": _now(),
                "session": session,
                "direction": "in",
                "frame_size": frame_size,
                "error": type(error).__name__,
                "detail": str(error),
            }
        )

    # -- writing --------------------------------------------------------------------------

    def _record(self, event: MessageEvent) -> dict[str, Any]:
        record: dict[str, Any] = {
            "time": _now(),
            "session": event.session,
            "direction": event.direction,
            "method": event.method,
            "size": event.message_size,
            "frame_size": event.frame_size,
            "elapsed_us": round(event.elapsed_ns / 1000, 1),
        }
        if self.include_text:
            try:
                text = event.message.decode("utf-8")
            except UnicodeDecodeError:
                record["data"] = base64.b64encode(event.message).decode("ascii")
            else:
                if self._hook is not None:
                    redacted = self._hook.auracodec_redact(text=text, event=event)
                    if redacted is not None:
                        text = redacted
                record["text"] = text
        return record

    def _write(self, record: Mapping[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self._lock:
            f = self._current()
            f.write(line)
            f.flush()

    def _current(self) -> TextIO:
        f = self._file
        now = time.time()
        if f is not None:
            too_big = f.tell() >= self.max_bytes
            too_old = self.rotate_every and now - self._opened >= self.rotate_every
            if too_big or too_old:
                self._close_file()
                self._rotate()
        if self._file is None:
            size = self.path.stat().st_size if self.path.exists() else 0
            if size:
                self._end_partial_line(size)
            if size >= self.max_bytes:
                self._rotate()
            self._file = self.path.open("a", encoding="utf-8")
            # Close the file when the log is collected, even if nobody calls close().
            self._closer = weakref.finalize(self, self._file.close)
            self._opened = now
        return self._file

    def _end_partial_line(self, size: int) -> None:
        """End the last line if a crash cut it short, so the next record starts afresh."""
        with self.path.open("rb+") as f:
            f.seek(size - 1)
            if f.read(1) != b"\n":
                f.seek(0, os.SEEK_END)
                f.write(b"\n")

    def _rotate(self) -> None:
        if not self.path.exists():
            return
        rotated = self._known_rotated()
        target = self._rotated_path()
        self.path.rename(target)
        rotated.append(target)
        while len(rotated) > self.keep:
            rotated.popleft().unlink(missing_ok=True)

    def _known_rotated(self) -> deque[Path]:
        """The rotated files, oldest first: listed from the directory once, then kept."""
        if self._rotated is None:
            pattern = re.compile(re.escape(self.path.name) + r"\.\d{8}T\d{6}\.\d{6}Z")
            with os.scandir(self.path.parent) as entries:
                names = sorted(e.name for e in entries if pattern.match(e.name))
            self._rotated = deque(self.path.with_name(n) for n in names)
        return self._rotated

    def _rotated_path(self) -> Path:
        """``<path>.<UTC time>``, with a counter for rotations in the same microsecond."""
        stamp = _utcnow().strftime("%Y%m%dT%H%M%S.%fZ")
        if stamp == self._last_stamp:
            self._same_stamp += 1
        else:
            self._last_stamp, self._same_stamp = stamp, 0
        while True:
            suffix = f"-{self._same_stamp:04d}" if self._same_stamp else ""
            target = self.path.with_name(f"{self.path.name}.{stamp}{suffix}")
            if not target.exists():  # a name an earlier run used in the same microsecond
                return target
            self._same_stamp += 1

    def _close_file(self) -> None:
        closer, self._file, self._closer = self._closer, None, None
        if closer is not None:
            closer()  # a finalizer runs once: closing twice is harmless

    def close(self) -> None:
        """Close the current file (a later message opens it again). Idempotent, thread-safe."""
        with self._lock:
            self._close_file()


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _now() -> str:
    return _utcnow().isoformat(timespec="microseconds")  # one length, even at .000000


def _factory(settings: Mapping[str, Any], hook: Any) -> AuditLog:
    path = settings["path"]
    if path is None:
        raise SettingError("path", "the audit log needs a path")
    if os.path.isdir(path):
        raise SettingError("path", f"{path} is a directory; give a file name")
    return AuditLog(
        path,
        max_bytes=settings["max_bytes"],
        rotate_every=settings["rotate_every"],
        keep=settings["keep"],
        include_text=settings["include_text"],
        hook=hook,
    )


@hookimpl
def auracodec_observer_types() -> list[ObserverType]:
    return [ObserverType(NAME, _factory, SETTINGS, "plaintext JSONL log of every message")]
