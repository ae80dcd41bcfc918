"""Python's side of the JavaScript TOML reader's tests (js/test/toml.test.mjs).

    python toml_oracle.py IN OUT

IN is a JSON list of TOML documents (strings); OUT gets, for each, what
``tomllib.loads`` made of it:

    {"ok": VALUE, "date": bool}   accepted
    {"error": "message"}          refused

VALUE is tagged JSON, so that both sides can compare without loss:
["table", {key: VALUE}], ["array", [VALUE]], ["str", s], ["bool", b],
["int", "decimal digits"], ["float", "nan" | the 16 hex digits of the
IEEE 754 double, big-endian (so -0.0 and 0.0 differ)], ["date", isoformat].
"date" says a date or time is in the document, which the JavaScript
reader refuses.
"""

from __future__ import annotations

import datetime
import json
import math
import struct
import sys
import tomllib


def encode(value: object, seen: set[str]) -> list:
    if isinstance(value, bool):
        return ["bool", value]
    if isinstance(value, int):
        return ["int", str(value)]
    if isinstance(value, float):
        return ["float", "nan" if math.isnan(value) else struct.pack(">d", value).hex()]
    if isinstance(value, str):
        return ["str", value]
    if isinstance(value, list):
        return ["array", [encode(v, seen) for v in value]]
    if isinstance(value, dict):
        return ["table", {k: encode(v, seen) for k, v in value.items()}]
    if isinstance(value, (datetime.date, datetime.time)):
        seen.add("date")
        return ["date", value.isoformat()]
    raise TypeError(f"tomllib returned a {type(value).__name__}")


def outcome(text: str) -> dict:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return {"error": str(exc)}
    seen: set[str] = set()
    value = encode(data, seen)
    return {"ok": value, "date": "date" in seen}


def main() -> None:
    _, source, target = sys.argv
    with open(source, encoding="utf-8") as f:
        documents = json.load(f)
    with open(target, "w", encoding="utf-8") as f:
        json.dump([outcome(text) for text in documents], f)


if __name__ == "__main__":
    main()
