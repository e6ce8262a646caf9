"""Golden tables of outbound requests (as courier's ``testdata/outgoing.json``): a ``Reply`` in, the
exact HTTP requests a channel makes for it out, as the fake provider on 127.0.0.1 received them.

A table (``tests/fixtures/outgoing/<channel>.json``) is a list of cases::

    {"name": "...", "why": "what the case shows, and the rule it follows",
     "reply": {"text": ..., "choices": [[label, data], ...], "image": "png", "files": [["a.csv", "csv"]],
               "image_ref": ..., "kind": ..., "last_inbound_at": "-30h", "template_only": ..., "language": ...,
               "commands": [[command, description], ...]},
     "requests": [{"method": "POST", "path": "...", "json": {...}}                       # a JSON body
                  {"method": "POST", "path": "...", "form": {...}, "files": {...}},      # a form body
                  {..., "status": 400}]}                                                # answered other than 200

Long texts are written as specs, in the reply and in the expected bodies alike, so that a split point
reads at a glance: ``{"lines": "Baris {n:03d}: ...", "from": 1, "to": 99}`` is those lines joined by
new lines (or by ``"sep"``); ``{"repeat": "kata", "times": 455, "sep": " "}``; ``{"concat": [part, part, ...]}``.
Bytes are named (:data:`BLOBS`): a reply's ``"image": "png"`` is :data:`PNG`, and an uploaded file
whose bytes are a blob is written as its name.

The expected bodies are written from the Bot API / Cloud API references and the channel code, and
checked by hand; ``GOLDEN_SHOW=1`` prints what the channel sent for a failing case (never written back).
"""
from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from channels.messages import Choice, Reply

TABLES = Path(__file__).resolve().parents[1] / "fixtures" / "outgoing"
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 48
CSV = "nama,tanggal_lahir,posyandu\nPutu Ayu,2026-03-01,Melati\n".encode()
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 32
BLOBS = {"png": PNG, "csv": CSV, "jpeg": JPEG}


def load(channel: str) -> list[dict[str, Any]]:
    """The cases of a channel's table."""
    return json.loads((TABLES / f"{channel}.json").read_text(encoding="utf-8"))["cases"]


def expand(value: Any) -> Any:
    """``value`` with every text spec (``lines``, ``repeat``, ``concat``) written out."""
    if isinstance(value, dict):
        if {"lines", "from", "to"} <= set(value) <= {"lines", "from", "to", "sep"}:
            lines = (value["lines"].format(n=n) for n in range(value["from"], value["to"] + 1))
            return value.get("sep", "\n").join(lines)
        if set(value) <= {"repeat", "times", "sep"} and "repeat" in value:
            return value.get("sep", "").join([value["repeat"]] * value["times"])
        if set(value) == {"concat"}:
            return "".join(expand(part) for part in value["concat"])
        return {key: expand(item) for key, item in value.items()}
    if isinstance(value, list):
        return [expand(item) for item in value]
    return value


def reply_of(spec: dict[str, Any]) -> Reply:
    """The Reply a case describes (``last_inbound_at`` as hours before :data:`NOW`, e.g. ``"-30h"``)."""
    spec = expand(spec)
    fields: dict[str, Any] = {"text": spec["text"]}
    if "choices" in spec:
        fields["choices"] = tuple(Choice(label, data) for label, data in spec["choices"])
    if "image" in spec:
        fields["image"] = BLOBS[spec["image"]]
    if "files" in spec:
        fields["files"] = tuple((name, BLOBS[blob]) for name, blob in spec["files"])
    if "commands" in spec:
        fields["commands"] = tuple(tuple(pair) for pair in spec["commands"])
    if "last_inbound_at" in spec:
        fields["last_inbound_at"] = NOW - timedelta(hours=float(spec["last_inbound_at"].strip("-h")))
    for key in ("image_ref", "image_channel", "kind", "template_only", "language", "contact_button"):
        if key in spec:
            fields[key] = spec[key]
    return Reply(**fields)


def blob(data: bytes) -> str | dict[str, Any]:
    """Uploaded bytes by their blob name (or their size and digest when they are none of them)."""
    for name, known in BLOBS.items():
        if data == known:
            return name
    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def compare(name: str, sent: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    """Asserts the requests are exactly the expected ones (printing them all with ``GOLDEN_SHOW=1``)."""
    expected = expand(expected)
    if sent != expected and os.environ.get("GOLDEN_SHOW"):
        print(f"\n--- {name}: sent\n" + json.dumps(sent, ensure_ascii=False, indent=1))
    assert len(sent) == len(expected), f"{name}: {len(sent)} requests sent, {len(expected)} expected"
    for i, (got, want) in enumerate(zip(sent, expected)):
        assert got == want, f"{name}: request {i + 1} differs"
