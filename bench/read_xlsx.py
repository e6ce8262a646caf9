"""Benchmark of reading a register XLSX: openpyxl (read-only, data-only) against registers.xlsx, and the
whole of registers.read.read_register, on a generated "Data Dasar" sheet of N rows x 12 columns (No KK,
NIK, name, birth date as an Excel date, sex, birth order, birth weight, mother's NIK and name, address,
RT/RW, phone).

openpyxl writes strings inline; Excel writes them to the shared strings table. ``--form excel`` rewrites
the generated workbook the way Excel stores it (every text a shared string) and is the default. Each
reader runs in its own process, which reports its CPU seconds and peak memory (max RSS).

Run from the repository root:  .venv/bin/python bench/read_xlsx.py [--rows 200000] [--form excel|openpyxl]
"""
from __future__ import annotations

import argparse
import json
import re
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

HEADER = ["No KK", "NIK", "Nama", "Tanggal Lahir", "JK", "Anak Ke", "BB Lahir", "NIK Ibu", "Nama Ibu", "Alamat",
          "RT/RW", "No HP"]
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def generate(path: Path, rows: int) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Data Dasar")
    sheet.append(HEADER)
    for i in range(rows):
        born = date(1950, 1, 1) + timedelta(days=(i * 37) % 27000)
        nik = f"510801{born.day + 40:02d}{born.month:02d}{born.year % 100:02d}{i % 10000:04d}"
        sheet.append([f"51080101{i // 4:08d}", nik, f"Ni Made Anak {i}", born, "P", 1 + i % 4, 3200,
                      "5108014207950001", "Ni Luh Sari", f"Banjar Kaja {i % 50}", "001/002", f"0812{i:08d}"])
    book.save(path)


def as_excel(source: Path, target: Path) -> None:
    """The workbook with its inline strings moved to a shared strings table, as Excel writes it."""
    index: dict[str, int] = {}

    def shared(match: re.Match) -> str:
        return f't="s"><v>{index.setdefault(match[1], len(index))}</v></c>'

    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item)
            if item.filename.startswith("xl/worksheets/"):
                data = re.sub(r't="inlineStr"><is><t>([^<]*)</t></is></c>', shared, data.decode()).encode()
            elif item.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="'
                                    b'application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
                                    b"</Types>")
            elif item.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", b'<Relationship Id="rIdS" Target="sharedStrings.xml" '
                                    b'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
                                    b'sharedStrings"/></Relationships>')
            zout.writestr(item, data)
        items = "".join(f"<si><t>{text}</t></si>" for text in index)
        zout.writestr("xl/sharedStrings.xml", f'<sst xmlns="{MAIN}" uniqueCount="{len(index)}">{items}</sst>')


def run(reader: str, path: Path) -> dict:
    """One reader over the file, in this process: rows or items and the CPU seconds."""
    start = time.process_time()
    count = 0
    if reader == "openpyxl":
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True, data_only=True)
        for sheet in book.worksheets:
            sheet.reset_dimensions()
            for _row in sheet.iter_rows(values_only=True):
                count += 1
        book.close()
    elif reader == "registers.xlsx":
        from registers.xlsx import Workbook

        with zipfile.ZipFile(path) as archive:
            book = Workbook(archive)
            for _name, part in book.sheets:
                book.scan(part)  # as read_register does for a sheet it imports
                for _row in book.rows(part):
                    count += 1
    else:
        from registers.read import read_register

        for _item in read_register(path, path.name, today=date(2026, 11, 23)):
            count += 1
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"reader": reader, "count": count, "cpu_s": round(time.process_time() - start, 2),
            "max_rss_mb": round(usage.ru_maxrss / 1024)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--form", choices=("excel", "openpyxl"), default="excel")
    parser.add_argument("--run", nargs=2, metavar=("READER", "FILE"), help=argparse.SUPPRESS)
    parser.add_argument("--generate", metavar="FILE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        print(json.dumps(run(args.run[0], Path(args.run[1]))))
        return
    if args.generate:
        path = Path(args.generate)
        generate(path, args.rows)
        if args.form == "excel":
            as_excel(path, path.with_suffix(".excel.xlsx"))
            path.with_suffix(".excel.xlsx").replace(path)
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "register.xlsx"
        # in a process of its own: a child inherits its parent's peak memory as its own starting peak
        subprocess.run([sys.executable, __file__, "--rows", str(args.rows), "--form", args.form,
                        "--generate", str(path)], check=True)
        print(f"{args.rows:,} rows x {len(HEADER)} columns, {args.form} form, {path.stat().st_size / 1e6:.1f} MB")
        print("| reader | rows/items | CPU s | max RSS MB |\n|---|---:|---:|---:|")
        for reader in ("openpyxl", "registers.xlsx", "read_register"):
            out = subprocess.run([sys.executable, __file__, "--run", reader, str(path)], check=True,
                                 capture_output=True, text=True).stdout
            result = json.loads(out)
            print(f"| {reader} | {result['count']:,} | {result['cpu_s']} | {result['max_rss_mb']} |")


if __name__ == "__main__":
    main()
