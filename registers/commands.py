"""The command line's register commands (``python bot.py import ...`` / ``export register``); bot.py only wires them.

Exit codes: 0 when the file was read (problems of rows are in the report), 2 when the file is bad
(nothing written), 1 when the puskesmas is unknown.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from registers.export import export_register
from registers.importer import UnknownPuskesmas, find_puskesmas, run_import


def template_command(out: Path) -> int:
    """``import template OUT.xlsx``: writes the template (the reader's module owns it)."""
    from registers.template import write_template  # the reader's branch

    write_template(out)
    print(f"template written to {out}")
    return 0


def _read(path: Path) -> Iterator:
    """The reader's items; its BadFile comes out at the first item (``run_import`` reports it)."""
    from registers.read import read_register  # the reader's branch

    yield from read_register(path, path.name)


async def check_file(db, data: bytes, file_name: str, *, puskesmas_id: int, apply: bool, actor: str,
                     actor_id: int | None, lang: str, stopped: Callable[[], bool] = lambda: False) -> tuple[str, bytes | None, bool]:
    """A file sent by chat (``/impor``: ``registers.jobs``' ``Check``): the report in ``lang``, the errors
    file (None when no row has a problem), and whether there is something to apply (a check) / the apply
    went through (an apply). ``stopped`` is asked before each row: True ends the work with :class:`Stopped`."""
    from registers.read import read_register

    def items() -> Iterator:
        for item in read_register(data, file_name):
            if stopped():
                raise Stopped()
            yield item

    report = await run_import(db, items(), puskesmas_id=puskesmas_id, apply=apply, actor=actor, actor_id=actor_id,
                              filename=file_name)
    return report.text(lang, by_chat=True), report.errors_xlsx(), not report.fatal and (apply or not report.unchanged)


class Stopped(Exception):
    """The bot stops: a check or apply in hand ends at the next row (its job is taken again at the next start)."""


async def import_command(db, path: Path, *, puskesmas: str, apply: bool, lang: str, errors: Path | None, actor: str) -> int:
    """``import FILE --puskesmas ID [--apply] [--lang en] [--errors OUT.xlsx] [--actor NAME]``: prints the report."""
    try:
        place = await find_puskesmas(db, puskesmas)
    except UnknownPuskesmas:
        print(f"no puskesmas {puskesmas!r} (give its id or code)")
        return 1
    if not path.is_file():
        print(f"no file {path}")
        return 2
    report = await run_import(db, _read(path), puskesmas_id=place.id, apply=apply, actor=actor, filename=path.name)
    print(report.text(lang))
    if errors is not None:
        content = report.errors_xlsx()
        if content is not None:
            errors.write_bytes(content)
            print(f"rows with problems written to {errors}")
        else:
            print("no row has a problem: no errors file written")
    return 2 if report.fatal else 0


async def export_command(db, *, puskesmas: str, out: Path) -> int:
    """``export register --puskesmas ID OUT.xlsx``."""
    try:
        place = await find_puskesmas(db, puskesmas)
    except UnknownPuskesmas:
        print(f"no puskesmas {puskesmas!r} (give its id or code)")
        return 1
    counts = await export_register(db, place.id, out)
    print(f"{place.name}: " + ", ".join(f"{sheet} {n}" for sheet, n in counts.items()) + f" rows written to {out}")
    return 0
