"""The command line's register commands (bot.py wires them)."""
from __future__ import annotations

from openpyxl import load_workbook

from registers.commands import export_command, import_command
from tests.registers.test_importer import full_register, imported


async def test_export_register_writes_the_file_by_puskesmas_code(demo_db, tmp_path, capsys):
    await imported(demo_db, full_register())
    out = tmp_path / "register.xlsx"
    assert await export_command(demo_db, puskesmas="P5108060201", out=out) == 0
    assert "anggota 2" in capsys.readouterr().out
    assert load_workbook(out).sheetnames == ["anggota", "imunisasi", "pengukuran", "kehamilan"]


async def test_an_unknown_puskesmas_or_file_is_told_in_one_line(demo_db, tmp_path, capsys):
    assert await export_command(demo_db, puskesmas="P000", out=tmp_path / "x.xlsx") == 1
    assert await import_command(demo_db, tmp_path / "missing.xlsx", puskesmas="P5108060201", apply=False, lang="id",
                                errors=None, actor="x") == 2
    out = capsys.readouterr().out
    assert "no puskesmas 'P000'" in out and "no file" in out
