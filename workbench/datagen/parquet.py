"""Generated data as Parquet: one folder per table, one part per shard and job, a manifest written last.

Layout of a folder ``DIR``::

    DIR/orders/part-0.parquet     a run of blocks of table ``orders``, named by its first block
    DIR/orders/part-25.parquet    the next run (another shard or job); row groups are blocks
    DIR/_manifest.json            written last by an unsharded generation (``_manifest-I-of-N.json`` by shard I/N)

A manifest names the generation (dataset, scale, seed, fingerprints of the schema and the data spec,
block size) and the parts its shard wrote. Readers trust only the parts a manifest lists, and accept
a folder only when its manifests cover every block of every table exactly once: the union of the
shards is the whole dataset, row for row, and a shard still running (or one that died) has no manifest.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import queue
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from workbench.datagen.blocks import Shard
from workbench.datagen.dataset import Tables
from workbench.datagen.generate import DataStream, stream
from workbench.datagen.size import check_free_space, estimate
from workbench.errors import WorkbenchError
from workbench.progress import tqdm
from workbench.schema.model import Schema

FORMAT = "workbench-parquet/1"
MANIFEST = "_manifest"
READ_ROWS = 262_144  # rows per batch read back from Parquet
Parts = dict[str, list[dict[str, Any]]]  # table key -> parts: file, first_block, blocks, rows


@dataclass(frozen=True)
class Generated:
    """What identifies a generation: the same values make the same data, block for block."""

    dataset: str
    scale: str | float | None
    seed: int
    schema: str  # fingerprint of the schema model
    spec: str  # fingerprint of the data spec
    block_rows: int

    def differences(self, other: Generated) -> list[str]:
        return [f"{name} {getattr(self, name)!r} vs {getattr(other, name)!r}"
                for name in asdict(self) if getattr(self, name) != getattr(other, name)]

    def __str__(self) -> str:
        return f"{self.dataset} at scale {self.scale}, seed {self.seed}"


def fingerprint(value: object) -> str:
    return hashlib.sha256(repr(value).encode()).hexdigest()[:16]


def schema_fingerprint(schema: Schema) -> str:
    """The schema model's tables and types (not where it was read from)."""
    return fingerprint((schema.tables, schema.enums, schema.domains))


def generated(data: DataStream, dataset: str, scale: str | float | None) -> Generated:
    schema, _, seed, spec, block_rows = data.generation.inputs
    return Generated(dataset, scale, seed, schema_fingerprint(schema), fingerprint(replace(spec, source="")),
                     block_rows)


def table_folders(schema: Schema) -> dict[str, str]:
    """Folder of each table: its name, or ``namespace.name`` when the bare name is not unique."""
    names = [t.name for t in schema.tables]
    return {t.key: t.name if names.count(t.name) == 1 else t.key for t in schema.tables}


def manifest_name(shard: Shard) -> str:
    return f"{MANIFEST}.json" if shard.count == 1 else f"{MANIFEST}-{shard.index}-of-{shard.count}.json"


# --- writing ---------------------------------------------------------------------------------------------------


def write_parquet(data: DataStream, out: str | Path, *, dataset: str, scale: str | float | None, jobs: int = 1,
                  progress: bool = True) -> Path:
    """Write ``data`` (a shard of a generation, or all of it) under ``out``; returns the manifest's path.

    ``jobs`` processes each write a part of the shard's blocks. Checked first, before anything is
    written: the folder must be empty or hold other shards of this same generation, and its disk must
    have room for the estimated size. The manifest is written last, atomically.
    """
    out = Path(out)
    if jobs < 1:
        raise WorkbenchError(f"jobs must be at least 1, not {jobs}")
    identity = generated(data, dataset, scale)
    folders = table_folders(data.generation.schema)
    _check_output(out, identity, data, folders)
    check_free_space(out, estimate(data).parquet_bytes, f"{identity} (shard {data.shard}) as Parquet",
                     "a smaller scale, another folder, or shards (--shard I/N) written on several machines")
    out.mkdir(parents=True, exist_ok=True)
    parts, notes = _write_parts(data, out, folders, jobs, progress)
    manifest = {"format": FORMAT, **asdict(identity), "shard": [data.shard.index, data.shard.count],
                "tables": {key: {"rows": data.generation.counts[key],
                                 "blocks": len(data.generation.state(key).blocks),
                                 "parts": sorted(parts.get(key, []), key=lambda part: part["first_block"])}
                           for key in data},
                "notes": notes}
    path = out / manifest_name(data.shard)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(manifest, indent=1))
    temporary.replace(path)
    return path


def _check_output(out: Path, identity: Generated, data: DataStream, folders: dict[str, str]) -> None:
    """Refuse a folder that holds something else, another generation, or this very shard already complete."""
    if out.exists() and not out.is_dir():
        raise WorkbenchError(f"{out} is a file; give a folder for the Parquet output")
    if not out.exists():
        return
    mine = {key: {rows.index for rows in table.blocks} for key, table in data.items()}
    for path, manifest in _manifests(out):
        other = _identity(path, manifest)
        if other != identity:
            raise WorkbenchError(f"{out} already holds a different generation ({path.name}: {other}); differs in "
                                 f"{'; '.join(other.differences(identity))}. Fix: write into an empty folder, or "
                                 f"delete {out} to replace it")
        for key, entry in manifest["tables"].items():
            done = {b for part in entry["parts"] for b in range(part["first_block"],
                                                                   part["first_block"] + part["blocks"])}
            if done & mine.get(key, set()):
                raise WorkbenchError(f"{out} already holds a complete shard {manifest['shard'][0]}/"
                                     f"{manifest['shard'][1]} of this generation ({path.name}), which overlaps shard "
                                     f"{data.shard}; nothing to do. Fix: delete {path.name} and its parts to write it "
                                     "again, or write another shard")
    known = {*folders.values()}
    strangers = sorted(p.name for p in out.iterdir()
                       if not p.name.startswith((MANIFEST, ".")) and not (p.is_dir() and p.name in known))
    if strangers:
        raise WorkbenchError(f"{out} holds {', '.join(strangers[:5])}, which are not part of a generation of "
                             f"{identity.dataset}; fix: write into an empty folder (or delete these)")


def _write_parts(data: DataStream, out: Path, folders: dict[str, str], jobs: int,
                 progress: bool) -> tuple[Parts, list[str]]:
    """Write the shard's blocks as parts, in this process or in ``jobs`` processes."""
    bars: dict[str, tqdm] = {}

    def report(key: str, rows: int) -> None:
        if key not in bars:
            bars[key] = tqdm(total=data[key].num_rows, desc=f"generate {key}", unit="rows", unit_scale=True,
                             disable=not progress)
        bars[key].update(rows)

    try:
        if jobs == 1:
            return _write_shard(data, out, folders, report)
        return _write_in_processes(data, out, folders, jobs, report)
    finally:
        for bar in bars.values():
            bar.close()


def _write_shard(data: DataStream, out: Path, folders: dict[str, str],
                 report: Callable[[str, int], None]) -> tuple[Parts, list[str]]:
    parts: Parts = {}
    for key, table in data.items():
        if not table.blocks:
            continue
        first = table.blocks[0].index
        path = out / folders[key] / f"part-{first}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp")
        with pq.ParquetWriter(temporary, table.schema, compression="zstd") as writer:
            for batch in table:
                writer.write_batch(batch)
                report(key, batch.num_rows)
        temporary.replace(path)
        parts[key] = [{"file": path.relative_to(out).as_posix(), "first_block": first, "blocks": len(table.blocks),
                       "rows": table.num_rows}]
    return parts, data.notes


def _write_in_processes(data: DataStream, out: Path, folders: dict[str, str], jobs: int,
                        report: Callable[[str, int], None]) -> tuple[Parts, list[str]]:
    """Each of ``jobs`` processes writes one finer shard; progress and results come back through a queue.

    Processes are forked where the platform allows it (no second import of the package, about 1.5 s of
    CPU each), else spawned (then a script calling this needs the ``if __name__ == "__main__"`` guard).
    """
    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    messages = context.Queue()
    workers = [context.Process(target=_job, args=(data.reshard(shard), out, folders, messages), daemon=True)
               for shard in data.shard.split(jobs)]
    for worker in workers:
        worker.start()
    parts: Parts = {}
    notes: list[str] = []
    finished = 0
    try:
        while finished < jobs:
            try:
                kind, *payload = messages.get(timeout=1.0)
            except queue.Empty:
                dead = [w for w in workers if w.exitcode not in (None, 0)]
                if dead:
                    raise WorkbenchError(f"a generation job died (exit code {dead[0].exitcode}); its parts are "
                                         "incomplete and no manifest was written; fix: run the command again") \
                        from None
                continue
            if kind == "rows":
                report(*payload)
            elif kind == "error":
                raise WorkbenchError(payload[0])
            else:
                done, said = payload
                for key, found in done.items():
                    parts.setdefault(key, []).extend(found)
                notes += [note for note in said if note not in notes]
                finished += 1
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
            worker.join()
    return parts, notes


def _job(data: DataStream, out: Path, folders: dict[str, str], messages: Any) -> None:
    try:
        messages.put(("done", *_write_shard(data, out, folders, lambda key, rows: messages.put(("rows", key, rows)))))
    except Exception as error:  # the parent raises it
        messages.put(("error", str(error) if isinstance(error, WorkbenchError) else f"{type(error).__name__}: {error}"))


# --- reading ---------------------------------------------------------------------------------------------------


class ParquetTable:
    """One table's parts, read back batch by batch (what an engine's load takes)."""

    def __init__(self, key: str, files: list[Path], schema: pa.Schema, num_rows: int, file_rows: list[int]):
        self.key, self.files, self.schema, self.num_rows = key, files, schema, num_rows
        self.file_rows = file_rows  # each file's rows, as its manifest says and its footer was checked to hold

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        for path in self.files:
            yield from pq.ParquetFile(path).iter_batches(batch_size=READ_ROWS)

    def parts(self, count: int) -> list[ParquetTable]:
        """Up to ``count`` tables of consecutive files, about even in rows, that together are this one (what a
        load copies at once on several connections)."""
        groups: list[list[tuple[Path, int]]] = [[]]
        before = 0  # rows of the files already placed
        for path, rows in zip(self.files, self.file_rows, strict=True):
            if groups[-1] and before >= self.num_rows * len(groups) / count:
                groups.append([])
            groups[-1].append((path, rows))
            before += rows
        return [ParquetTable(self.key, [path for path, _ in group], self.schema, sum(rows for _, rows in group),
                             [rows for _, rows in group]) for group in groups]

    def __repr__(self) -> str:
        return f"<ParquetTable {self.key}: {self.num_rows:,} rows in {len(self.files)} parts>"


class ParquetData(Tables[ParquetTable]):
    """A complete generation read from a folder: table key -> :class:`ParquetTable`, parents first."""

    def __init__(self, folder: Path, identity: Generated, tables: dict[str, ParquetTable], notes: list[str]):
        super().__init__(tables)
        self.folder, self.identity, self.notes = folder, identity, notes

    def __repr__(self) -> str:
        return f"<ParquetData {self.folder}: {self.identity}, {sum(self.row_counts().values()):,} rows>"


def read_parquet(folder: str | Path, schema: Schema) -> ParquetData:
    """The generation in ``folder``, checked against ``schema`` before anything is read.

    Every table of the schema must be there, complete (the manifests cover all its blocks once),
    with every column of the type the generator writes for it; else a WorkbenchError says what and where.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise WorkbenchError(f"{folder} is not a folder; give the folder `workbench generate --out` wrote")
    manifests = _manifests(folder)
    if not manifests:
        raise WorkbenchError(f"{folder} has no {MANIFEST}*.json: it is not a complete workbench generation (the "
                             "manifest is written last, when a generation is complete); fix: generate it with "
                             "`workbench generate DATASET --out DIR`, or wait for it to finish")
    identity = _identity(*manifests[0])
    for path, manifest in manifests[1:]:
        other = _identity(path, manifest)
        if other != identity:
            raise WorkbenchError(f"{folder} mixes two generations: {manifests[0][0].name} ({identity}) and "
                                 f"{path.name} ({other}), which differ in {'; '.join(other.differences(identity))}; "
                                 "fix: keep the shards of one generation in a folder")
    if identity.schema != schema_fingerprint(schema):
        raise WorkbenchError(f"{folder} was generated from another schema than the one given ({identity}); "
                             f"fix: load it with the dataset {identity.dataset!r} it was generated from, or "
                             "generate it again from this schema")
    expected = stream(schema, 0, block_rows=identity.block_rows)
    tables, notes = {}, []
    for _, manifest in manifests:
        notes += [note for note in manifest.get("notes", []) if note not in notes]
    for key, table in expected.items():
        parts = [(path, part) for path, manifest in manifests
                 for part in manifest["tables"].get(key, {}).get("parts", [])]
        entry = next((m["tables"][key] for _, m in manifests if key in m["tables"]), None)
        if entry is None:
            raise WorkbenchError(f"{folder}: table {key} is missing (no manifest lists it); fix: generate the "
                                 "dataset again into an empty folder")
        files = _covering(folder, key, entry["blocks"], parts, manifests)
        for file, part in files:
            _check_part(file, key, part["rows"], table.schema)
        tables[key] = ParquetTable(key, [file for file, _ in files], table.schema, entry["rows"],
                                   [part["rows"] for _, part in files])
    return ParquetData(folder, identity, tables, notes)


def _covering(folder: Path, key: str, blocks: int, parts: list[tuple[Path, dict]],
              manifests: list[tuple[Path, dict]]) -> list[tuple[Path, dict]]:
    """The part files of ``key`` (and their entries) in block order, checked to cover ``0..blocks-1`` once."""
    shards = ", ".join(f"{m['shard'][0]}/{m['shard'][1]}" for _, m in manifests)

    def incomplete(what: str) -> WorkbenchError:
        return WorkbenchError(f"{folder}: table {key} is incomplete: {what}; the complete shards here are {shards}. "
                              "Fix: run the missing shards (workbench generate ... --shard I/N) into this folder, or "
                              "remove the one written twice")

    next_block, files = 0, []
    for manifest_path, part in sorted(parts, key=lambda found: found[1]["first_block"]):
        first = part["first_block"]
        if first > next_block:
            raise incomplete(f"{_blocks(next_block, first - 1)} missing")
        if first < next_block:
            raise incomplete(f"blocks from {first} are written twice ({manifest_path.name})")
        path = folder / part["file"]
        if not path.is_file():
            raise WorkbenchError(f"{folder}: {part['file']} is listed in {manifest_path.name} but missing; fix: "
                                 "generate that shard again")
        files.append((path, part))
        next_block = first + part["blocks"]
    if next_block < blocks:
        raise incomplete(f"{_blocks(next_block, blocks - 1)} missing")
    return files


def _blocks(first: int, last: int) -> str:
    return f"block {first} is" if first == last else f"blocks {first}..{last} are"


def _check_part(path: Path, key: str, rows: int, expected: pa.Schema) -> None:
    try:
        found = pq.ParquetFile(path)
    except (OSError, pa.ArrowInvalid) as error:
        raise WorkbenchError(f"{path}: not a readable Parquet file ({error}); fix: generate that shard again") \
            from error
    have = found.schema_arrow
    for field in expected:
        if field.name not in have.names:
            raise WorkbenchError(f"{path}: column {field.name!r} of {key} is missing; it has {', '.join(have.names)}")
        kind = have.field(field.name).type
        if kind != field.type:
            raise WorkbenchError(f"{path}: column {field.name!r} of {key} is {kind}, but the schema needs "
                                 f"{field.type}; fix: generate it again from this schema, or correct the file")
    extra = [name for name in have.names if name not in expected.names]
    if extra:
        raise WorkbenchError(f"{path}: columns {', '.join(extra)} are not columns of {key}")
    if found.metadata.num_rows != rows:
        raise WorkbenchError(f"{path}: {found.metadata.num_rows:,} rows, but the manifest says {rows:,}; "
                             "fix: generate that shard again")


def _manifests(folder: Path) -> list[tuple[Path, dict]]:
    found = []
    for path in sorted(folder.glob(f"{MANIFEST}*.json")):
        try:
            manifest = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise WorkbenchError(f"{path}: not a readable manifest ({error}); fix: generate that shard again") \
                from error
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise WorkbenchError(f"{path}: not a workbench manifest (format {FORMAT} expected)")
        found.append((path, manifest))
    return found


def _identity(path: Path, manifest: dict) -> Generated:
    try:
        return Generated(**{name: manifest[name] for name in Generated.__dataclass_fields__})
    except KeyError as error:
        raise WorkbenchError(f"{path}: manifest lacks {error}; fix: generate that shard again") from error


