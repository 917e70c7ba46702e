"""Read a user's text file (DDL, workload, study, data spec) with errors that say what is wrong and what to do.

A missing path, a folder, a binary file (an image, an archive, a SQLite database, a pg_dump archive) and
text in another encoding than the one asked for each end in a WorkbenchError naming the file (and, for
an encoding problem, the line and column of the first bad byte); a byte-order mark picks UTF-8 or UTF-16.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from workbench.errors import WorkbenchError, did_you_mean

# What a file that is not text usually is, by its first bytes, and how to get text out of it.
_MAGIC = {
    b"\x89PNG": "a PNG image", b"%PDF": "a PDF document", b"GIF8": "a GIF image", b"\xff\xd8\xff": "a JPEG image",
    b"\x1f\x8b": "a gzip archive (gunzip it first)", b"PK\x03\x04": "a zip archive (unzip it first)",
    b"BZh": "a bzip2 archive (bunzip2 it first)", b"\xfd7zXZ": "an xz archive (unxz it first)",
    b"SQLite format 3\x00": "a SQLite database (write its schema with: sqlite3 FILE .schema > schema.sql)",
    b"PGDMP": "a pg_dump archive (write its schema with: pg_restore --schema-only -f schema.sql FILE)",
    b"\x7fELF": "a program",
}
_CONTROL = bytes(b for b in range(32) if b not in b"\t\n\r\f\v\x1b")
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def read_text(path: str | Path, *, what: str = "file", encoding: str | None = None) -> str:
    """The text of ``path``: UTF-8 unless ``encoding`` (or a byte-order mark) says otherwise."""
    path = Path(path)
    data = _read_bytes(path, what)
    kind = next((label for magic, label in _MAGIC.items() if data.startswith(magic)), None)
    if kind is not None:
        raise WorkbenchError(f"{path}: this is {kind}, not a {what}; give the {what} itself")
    chosen = encoding or next((name for bom, name in _BOMS if data.startswith(bom)), "utf-8")
    try:
        codecs.lookup(chosen)
    except LookupError:
        raise WorkbenchError(f"unknown encoding {chosen!r} for {path}; give one Python knows, e.g. utf-8, cp1252, "
                             f"latin-1, utf-16") from None
    if chosen.startswith("utf-8") and _binary(data):
        raise WorkbenchError(f"{path}: this is a binary file (or UTF-16 text without a byte-order mark), not a "
                             f"text {what}; give the {what} as text (for UTF-16: --encoding utf-16-le)")
    try:
        return data.decode(chosen)
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise WorkbenchError(
            f"{path}:{line}:{column}: byte 0x{data[error.start]:02x} is not valid {chosen}: the file is in another "
            f"encoding; read it with --encoding cp1252 (or latin-1, ...), or convert it: "
            f"iconv -f cp1252 -t utf-8 {path} > {path.stem}.utf8{path.suffix}") from None


def _binary(data: bytes) -> bool:
    """Whether more than a tenth of the first 8 KB are control bytes no text file holds (NUL among them)."""
    head = data[:8192]
    return sum(head.count(byte) for byte in _CONTROL) > len(head) // 10


def _read_bytes(path: Path, what: str) -> bytes:
    if path.is_dir():
        raise WorkbenchError(f"{path}: this is a folder, not a {what}; give the path of the {what}")
    if not path.exists():
        folder = path.parent
        if not folder.is_dir():
            raise WorkbenchError(f"{path}: no such {what} (the folder {folder} does not exist); check the path")
        hint = did_you_mean(path.name, (p.name for p in folder.iterdir() if p.is_file()), cutoff=0.8)
        raise WorkbenchError(f"{path}: no such {what}" + (hint if hint.startswith("; did you mean") else
                                                           "; check the path"))
    try:
        return path.read_bytes()
    except OSError as error:
        raise WorkbenchError(f"{path}: cannot read the {what}: {error.strerror or error}") from None
