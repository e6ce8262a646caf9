"""Forms that carry a file (``multipart/form-data``): read as a stream, never past a limit.

The app takes request bodies of at most ``web.app.MAX_BODY`` (1 MB) whole; a register to import is up to
50 MB and a photo up to 5 MB, so a page that takes a file is wrapped in ``web.auth.staff_page(upload=N)``,
which reads the form with :func:`read_form` (fields up to :data:`MAX_FIELD` bytes each, the file up to
``N`` bytes: past it the reading stops and the file is marked ``too_big``), checks its CSRF field, and
puts it on the request (:func:`form_of`). The CSRF field comes first in every such form.
"""
from __future__ import annotations

from dataclasses import dataclass

from aiohttp import BodyPartReader, web
from multidict import MultiDict

#: the longest text field of a form with a file (bytes)
MAX_FIELD = 64 * 1024
#: the most parts a form may have
MAX_PARTS = 100


@dataclass(frozen=True)
class Upload:
    """A file of a form: its name as sent, its bytes (empty when ``too_big``)."""

    name: str
    data: bytes
    too_big: bool = False


@dataclass
class Form:
    """A form with files: ``fields`` (name -> text, repeated names kept) and ``files`` (name -> the first file)."""

    fields: MultiDict
    files: dict[str, Upload]

    def get(self, name: str, default=None):
        return self.fields.get(name, default)

    def getall(self, name: str, default=None):
        return self.fields.getall(name, default)


#: where ``web.auth.staff_page`` puts the form of a page that takes a file
FORM = web.RequestKey("form", Form)


def form_of(request: web.Request) -> Form | None:
    """The form with files read for the request (None: not a multipart POST)."""
    return request.get(FORM)


class BadForm(Exception):
    """A body that is no well-formed ``multipart/form-data`` (no boundary, broken parts, an unknown charset)."""


async def read_form(request: web.Request, max_bytes: int) -> Form:
    """Reads a ``multipart/form-data`` body part by part (see the module's docstring); a field past
    :data:`MAX_FIELD` is read as empty. Raises :class:`BadForm` for a body that cannot be read as one."""
    try:
        return await _read_form(request, max_bytes)
    except (ValueError, AssertionError, LookupError, EOFError, web.HTTPException) as exc:
        raise BadForm(type(exc).__name__) from None


async def _read_form(request: web.Request, max_bytes: int) -> Form:
    fields: MultiDict = MultiDict()
    files: dict[str, Upload] = {}
    reader = await request.multipart()
    for _count in range(MAX_PARTS):
        part = await reader.next()
        if part is None:
            break
        if not isinstance(part, BodyPartReader) or not part.name:
            continue
        if part.filename is None:
            data = await _read(part, MAX_FIELD)
            fields.add(part.name, (data or b"").decode(part.get_charset("utf-8"), errors="replace"))
            continue
        data = await _read(part, max_bytes)
        if data is None:  # too big: the rest of the body is not read
            files.setdefault(part.name, Upload(part.filename, b"", too_big=True))
            break
        files.setdefault(part.name, Upload(part.filename, data))
    return Form(fields, files)


async def _read(part: BodyPartReader, limit: int) -> bytes | None:
    """A part's bytes (decoded from its transfer encoding), None past ``limit``."""
    buffer = bytearray()
    while True:
        chunk = await part.read_chunk(64 * 1024)
        if not chunk:
            break
        buffer += chunk
        if len(buffer) > limit:
            return None
    return bytes(part.decode(bytes(buffer)))
