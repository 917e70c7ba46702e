"""A time-stamped request stream drawn from a loaded domain's workload, with real sizes and latencies.

``trace(domain, engine, requests=N, seed=S, rate=R)`` picks each request's query by the workload's
weights and its parameters with the workload's samplers (skewed where the data is skewed), stamps
Poisson arrivals at ``rate`` requests per second, and then asks the engine, once per distinct read,
what the cache would hold: the rows (their encoded bytes: the value a cache-aside application stores
under the key ``query(params)``) and, where writes can reach them, the keys and anchor values of the
rows behind the result (:mod:`workbench.cache.lineage`). Distinct reads and writes run in batches
(one statement per query and chunk, the parameters joined in as a VALUES list), so a million-request
trace asks the engine a few dozen statements; latency is timed per statement on ``measure``
distinct draws of each query (writes rolled back), the others taking their query's median.
Nothing in the data changes. Same seed, same stream.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlglot import exp

from workbench.cache.lineage import (
    ReadShape,
    Relation,
    WriteShape,
    lineage_select,
    read_shape,
    relations,
    write_shape,
)
from workbench.cache.results_text import encoded_length, row_texts, texts
from workbench.cache.sizes import redis_entry_bytes
from workbench.engines import Engine
from workbench.errors import WorkbenchError
from workbench.progress import tqdm
from workbench.safe_display import safe_html
from workbench.schema.model import Schema
from workbench.workload import Query, Workload
from workbench.workload.samplers import as_sql_value

READ, WRITE = 0, 1
BATCH = 2000  # distinct parameter sets per batched statement
LINEAGE_CAP = 256  # rows behind one read beyond which a write's reach is taken as "every read of the query"


@dataclass
class Trace:
    """The request stream (``requests``), its distinct reads and writes, and which reads each write reaches.

    ``requests``: one row per request, columns ``time`` (s), ``op`` (0 read, 1 write), ``query`` (code
    into ``queries``) and ``item`` (row of ``reads`` or ``writes``). ``reads``: ``query, key, value_bytes,
    key_bytes, latency_ms, measured, rows``. ``writes``: ``query, params, latency_ms, measured``.
    ``reach`` (CSR ``indptr``, ``indices``): the reads each write item makes stale, row by row;
    ``blanket``: (write query, read query) pairs where a write reaches every read of the query.
    """

    requests: pd.DataFrame
    queries: list[str]
    reads: pd.DataFrame
    writes: pd.DataFrame
    indptr: np.ndarray
    indices: np.ndarray
    blanket: pd.DataFrame
    relations: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)
    read_params: list[tuple] = field(default_factory=list, repr=False)  # per row of ``reads``: the values bound
    write_params: list[tuple] = field(default_factory=list, repr=False)
    workload: Workload | None = field(default=None, repr=False)  # the queries behind ``queries`` (for a replay)

    def __len__(self) -> int:
        return len(self.requests)

    @property
    def duration_s(self) -> float:
        """Seconds from the first request to the last (at least one second)."""
        if "span_s" in self.info:  # a part of a trace keeps the whole trace's span
            return float(self.info["span_s"])
        times = self.requests["time"].to_numpy()
        return max(float(times[-1] - times[0]) if len(times) else 0.0, 1.0)

    def entry_bytes(self, *, ttl: bool = False) -> np.ndarray:
        """What each distinct read takes in Redis: key, value, object headers, dictionary entries."""
        return redis_entry_bytes(self.reads["key_bytes"].to_numpy(), self.reads["value_bytes"].to_numpy(), ttl=ttl)

    @property
    def working_set_bytes(self) -> int:
        """Every distinct read cached at once, priced as Redis stores it."""
        return int(self.entry_bytes().sum())

    def summary(self) -> pd.DataFrame:
        """Per query: requests, share, distinct keys, mean value bytes, median latency, and the writes' reach."""
        requests = self.requests
        counts = requests.groupby(["query", "op"]).size().rename("requests").reset_index()
        counts["query"] = [self.queries[q] for q in counts["query"]]
        counts["kind"] = np.where(counts["op"] == READ, "read", "write")
        reads = self.reads.groupby("query").agg(distinct=("key", "size"), mean_bytes=("value_bytes", "mean"),
                                                latency_ms=("latency_ms", "median"), measured=("measured", "sum"))
        writes = self.writes.groupby("query").agg(distinct=("params", "size"), latency_ms=("latency_ms", "median"),
                                                  measured=("measured", "sum"))
        table = counts.merge(pd.concat([reads, writes]), left_on="query", right_index=True, how="left")
        table["share"] = table["requests"] / len(requests)
        reach = self.relations.groupby("write")["read"].agg(lambda r: ", ".join(sorted(set(r))))
        table["makes_stale"] = table["query"].map(reach).fillna("")
        columns = ["query", "kind", "requests", "share", "distinct", "mean_bytes", "latency_ms", "measured",
                   "makes_stale"]
        return table[columns].sort_values("requests", ascending=False).reset_index(drop=True)

    def __repr__(self) -> str:
        reads = int((self.requests["op"] == READ).sum())
        return (f"<Trace {self.info.get('domain', '?')} on {self.info.get('engine', '?')}: {len(self)} requests "
                f"({reads} reads, {len(self) - reads} writes) over {self.duration_s:,.0f} s, "
                f"{len(self.reads)} distinct reads>")

    def _repr_html_(self) -> str:
        return safe_html(lambda t: f"<p>{html.escape(repr(t))}</p>" + t.summary().to_html(
            index=False, float_format=lambda v: f"{v:,.3g}"), self)


def trace(source: Any, engine: Engine, *, requests: int = 100_000, seed: int = 0, rate: float = 1000.0,
          workload: Workload | str | Path | None = None, measure: int = 30, progress: bool = True) -> Trace:
    """The request stream of ``source`` (a domain, its name, or a Workload with ``schema=``) on a loaded ``engine``.

    ``rate``: mean requests per second (Poisson arrivals). ``measure``: distinct draws per query timed
    one by one (the rest take their query's median latency). The engine must hold the domain's data.
    """
    schema, chosen, name = _resolve(source, workload)
    if requests < 1:
        raise WorkbenchError(f"requests={requests}: a trace needs at least one request")
    if not rate > 0:
        raise WorkbenchError(f"rate={rate}: requests per second must be positive")
    reads_q = [q for q in chosen if not q.is_write]
    if not reads_q:
        raise WorkbenchError(f"workload {chosen.file or name!r} has no reads (only "
                             f"{', '.join(q.name for q in chosen) or 'nothing'}): a cache serves reads; add a "
                             f"SELECT to the workload")
    started = time.perf_counter()
    queries = list(chosen)
    rng = np.random.default_rng(seed)
    weights = np.array([q.weight for q in queries], dtype=float)
    if not (weights > 0).any():
        raise WorkbenchError(f"workload {name!r}: every query has weight 0; give the queries positive weights")
    picks = rng.choice(len(queries), size=requests, p=weights / weights.sum())
    times = np.cumsum(rng.exponential(1.0 / rate, size=requests))
    for query in queries:
        for sampler in query.params.values():
            sampler.prepare(engine)
    items = np.zeros(requests, dtype=np.int32)
    distinct: dict[str, pd.DataFrame] = {}
    for code, query in enumerate(queries):
        where = np.flatnonzero(picks == code)
        params = _draw(query, seed, len(where))
        keys = _keys(query, params)
        codes, uniques = pd.factorize(np.asarray(keys, dtype=object))
        first = pd.Series(np.arange(len(codes))).groupby(codes).first().to_numpy()
        distinct[query.name] = pd.DataFrame({"key": uniques, "params": [params[i] for i in first]})
        items[where] = codes
    shapes_r = {q.name: read_shape(q, schema) for q in reads_q}
    shapes_w = {q.name: write_shape(q, schema) for q in queries if q.is_write}
    found = relations(list(shapes_r.values()), list(shapes_w.values()))
    bar = tqdm(total=len(queries), desc="trace: distinct reads and writes", disable=not progress, leave=False)
    reads, writes, read_tags, write_tags = [], [], [], []
    offset_r = offset_w = 0
    offsets = np.zeros(len(queries), dtype=np.int64)
    for code, query in enumerate(queries):
        table = distinct[query.name]
        if query.is_write:
            offsets[code] = offset_w
            frame, tags = _writes(engine, query, shapes_w[query.name], table, found, measure)
            frame["query"], tags["item"] = query.name, tags["item"] + offset_w
            writes.append(frame)
            write_tags.append(tags)
            offset_w += len(frame)
        else:
            offsets[code] = offset_r
            frame, tags = _reads(engine, query, shapes_r[query.name], table, found, measure)
            frame["query"], tags["item"] = query.name, tags["item"] + offset_r
            reads.append(frame)
            read_tags.append(tags)
            offset_r += len(frame)
        bar.update()
    bar.close()
    items = items + offsets[picks]
    reads_frame = pd.concat(reads, ignore_index=True)
    writes_frame = pd.concat(writes, ignore_index=True) if writes else _empty_writes()
    indptr, indices, blanket = _reach(found, read_tags, write_tags, reads_frame, writes_frame)
    is_write = np.array([q.is_write for q in queries])[picks]
    request_frame = pd.DataFrame({"time": times, "op": np.where(is_write, WRITE, READ).astype(np.int8),
                                  "query": picks.astype(np.int16), "item": items})
    info = {"domain": name, "engine": engine.name, "seed": seed, "rate": rate, "requests": requests,
            "workload": chosen.file or "<text>", "build_s": round(time.perf_counter() - started, 3)}
    relations_frame = pd.DataFrame([vars(r) for r in found], columns=["read", "alias", "write", "kind", "anchors"])
    read_params = [row for q in queries if not q.is_write for row in distinct[q.name]["params"]]
    write_params = [row for q in queries if q.is_write for row in distinct[q.name]["params"]]
    return Trace(request_frame, [q.name for q in queries], reads_frame, writes_frame, indptr, indices, blanket,
                 relations_frame, info, read_params, write_params, chosen)


def _resolve(source: Any, workload: Workload | str | Path | None) -> tuple[Schema, Workload, str]:
    """(schema, workload, name) from a domain, a domain name or a Workload checked against a schema."""
    from workbench.domains import Domain, domain

    if isinstance(source, str | Path):
        source = domain(source)
    if isinstance(source, Domain):
        if isinstance(workload, str | Path):
            workload = Workload.from_file(workload, schema=source.schema)
        return source.schema, workload or source.workload, source.name
    if isinstance(source, tuple) and len(source) == 2 and isinstance(source[0], Schema):
        schema, chosen = source
        return schema, chosen, Path(chosen.file).stem if chosen.file else "workload"
    raise WorkbenchError(f"trace() takes a domain, a domain name or (schema, workload), not {type(source).__name__}")


def _draw(query: Query, seed: int, count: int) -> list[tuple]:
    """``count`` parameter tuples (in the order of ``query.params``), seeded per query like Workload.draws."""
    rng = np.random.default_rng([seed, *query.name.encode()])
    columns = [sampler.draw_many(rng, count) for sampler in query.params.values()]
    return list(zip(*columns, strict=True)) if columns else [()] * count


def _keys(query: Query, params: list[tuple]) -> list[str]:
    """The cache key a cache-aside application would use: ``name(value, value)``."""
    names = list(query.params)
    if not names:
        return [f"{query.name}()"] * len(params)
    frame = pd.DataFrame(params, columns=names)
    text = texts(frame[names[0]]).astype(str)
    for column in names[1:]:
        text = text + "," + texts(frame[column]).astype(str)
    return (query.name + "(" + text + ")").tolist()


def _batched(select: exp.Expression, names: list[str], params: list[tuple], dialect: str) -> str:
    """``select`` run once per parameter tuple in one statement: the tuples as ``VALUES`` numbered ``_i``,
    each placeholder a column of them, the statement a ``LATERAL`` subquery."""
    values = _values_of(names, params)
    inner = _parameters_as_columns(select, names)
    subquery = exp.Lateral(this=exp.Subquery(this=inner), alias=exp.TableAlias(this=exp.to_identifier("_q")))
    star = exp.Column(this=exp.Star(), table=exp.to_identifier("_q"))
    outer = exp.select(exp.column("_i", table="_p"), star).from_(values).join(subquery, join_type="cross")
    return outer.sql(dialect)


def _parameters_as_columns(select: exp.Expression, names: list[str]) -> exp.Expression:
    """Each ``:name`` placeholder as the column ``_p._v_name`` of the VALUES list of parameter tuples."""

    def bind(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Placeholder) and node.name in names:
            return exp.column(f"_v_{node.name}", table="_p")
        return node

    return select.transform(bind)


def _values_of(names: list[str], params: list[tuple]) -> exp.Values:
    rows = [exp.Tuple(expressions=[exp.Literal.number(i), *[as_sql_value(v) for v in row]])
            for i, row in enumerate(params)]
    return exp.Values(expressions=rows, alias=exp.TableAlias(
        this=exp.to_identifier("_p"), columns=[exp.to_identifier(c) for c in ["_i", *(f"_v_{n}" for n in names)]]))


def _run_batches(engine: Engine, query: Query, select: exp.Expression, params: list[tuple]) -> pd.DataFrame:
    """Rows of ``select`` for every parameter tuple, with ``_i`` (the tuple's position)."""
    names = list(query.params)
    frames = []
    for start in range(0, len(params), BATCH):
        chunk = params[start:start + BATCH]
        try:
            frame = engine.query(_batched(select, names, chunk, engine.dialect))
        except WorkbenchError as error:
            raise WorkbenchError(f"query {query.name!r} (line {query.line}) failed while tracing: {error}") from error
        frame["_i"] = frame["_i"].astype(np.int64) + start
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _latencies(engine: Engine, query: Query, params: list[tuple], measure: int) -> tuple[np.ndarray, np.ndarray]:
    """Latency per distinct draw: the first ``measure`` timed one by one after a warm-up, the rest the median."""
    names = list(query.params)
    chosen = min(measure, len(params))
    latency = np.full(len(params), np.nan)
    if chosen == 0:
        raise WorkbenchError(f"measure={measure}: time at least one draw per query to know its latency")
    statements = [query.bind(dict(zip(names, row, strict=True)), engine.dialect) for row in params[:chosen]]
    engine.timed(statements[0], rollback=query.is_write, checksum=False)  # warm-up
    for i, statement in enumerate(statements):
        execution = engine.timed(statement, rollback=query.is_write, checksum=False)
        if not execution.ok:
            raise WorkbenchError(f"query {query.name!r} (line {query.line}) failed while tracing: "
                                 f"{execution.error}\n    {statement}")
        latency[i] = execution.latency_ms
    measured = ~np.isnan(latency)
    latency[~measured] = np.median(latency[measured])
    return latency, measured


def _reads(engine: Engine, query: Query, shape: ReadShape, table: pd.DataFrame, found: list[Relation],
           measure: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per distinct read: value bytes, latency; and its lineage tags (``item, relation, value``)."""
    params = table["params"].tolist()
    rows = _run_batches(engine, query, query.expression, params)
    lengths = np.array([len(t.encode()) for t in row_texts(rows.drop(columns="_i"))], dtype=np.int64)
    count = len(params)
    value_bytes = encoded_length(lengths, rows["_i"].to_numpy(), count)
    latency, measured = _latencies(engine, query, params, measure)
    frame = pd.DataFrame({"key": table["key"], "value_bytes": value_bytes,
                          "key_bytes": table["key"].str.len().astype(np.int64) + len("wb:"),
                          "latency_ms": latency, "measured": measured,
                          "rows": np.bincount(rows["_i"], minlength=count), "params": _param_text(params)})
    return frame, _read_tags(engine, query, shape, params, found)


def _read_tags(engine: Engine, query: Query, shape: ReadShape, params: list[tuple],
               found: list[Relation]) -> pd.DataFrame:
    """``item, relation, value`` for the row keys and anchor values behind each read a relation follows."""
    mine = [(i, r) for i, r in enumerate(found) if r.read == query.name and r.kind != "all"]
    if not mine:
        return _empty_tags()
    wanted: dict[str, tuple[bool, tuple[str, ...]]] = {}
    for _, relation in mine:
        keys, anchors = wanted.get(relation.alias, (False, ()))
        wanted[relation.alias] = (keys or relation.kind == "row", tuple(dict.fromkeys(anchors + relation.anchors)))
    select, layout = lineage_select(shape, wanted)
    if shape.aggregated or select.args.get("limit") is None:  # bound the rows followed per read
        select = select.limit(LINEAGE_CAP + 1)
    lineage = _run_batches(engine, query, select, params)
    overflow = set(np.flatnonzero(np.bincount(lineage["_i"], minlength=len(params)) > LINEAGE_CAP))
    tags = []
    for index, relation in mine:
        tags.append(_tags(lineage, layout, relation, index))
    frame = pd.concat(tags, ignore_index=True) if tags else _empty_tags()
    if overflow:  # too many rows behind these reads to follow one by one: any write of the relation reaches them
        frame = frame[~frame["item"].isin(overflow)]
        blanket = [pd.DataFrame({"item": sorted(overflow), "relation": index, "value": "*"}) for index, _ in mine]
        frame = pd.concat([frame, *blanket], ignore_index=True)
    return frame


def _tags(lineage: pd.DataFrame, layout: list, relation: Relation, index: int) -> pd.DataFrame:
    """The tags of one relation from the lineage rows: the row key, or ``column=value`` per anchor column."""
    columns = {place: f"_l{i}" for i, place in enumerate(layout)}
    if relation.kind == "row":
        keys = [name for (alias, kind, _), name in columns.items() if alias == relation.alias and kind == "row"]
        value = _joined(lineage, keys)
        return pd.DataFrame({"item": lineage["_i"], "relation": index, "value": value}).dropna().drop_duplicates()
    parts = []
    for i, (alias, kind, column) in enumerate(layout):
        if alias == relation.alias and kind == "anchor" and column in relation.anchors:
            value = column + "=" + texts(lineage[f"_l{i}"])
            parts.append(pd.DataFrame({"item": lineage["_i"], "relation": index, "value": value}))
    return pd.concat(parts, ignore_index=True).dropna().drop_duplicates() if parts else _empty_tags()


def _writes(engine: Engine, query: Query, shape: WriteShape, table: pd.DataFrame, found: list[Relation],
            measure: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per distinct write: latency (rolled back), and the row keys and anchor values it touches, per relation."""
    params = table["params"].tolist()
    latency, measured = _latencies(engine, query, params, measure)
    frame = pd.DataFrame({"params": _param_text(params), "latency_ms": latency, "measured": measured})
    mine = [(i, r) for i, r in enumerate(found) if r.write == query.name and r.kind != "all"]
    if not mine or shape.table is None:
        return frame, _empty_tags()
    touched, layout = _touched(engine, query, shape, params, mine)
    tags = []
    for index, relation in mine:
        if relation.kind == "row":
            keys = [f"_t{i}" for i, (kind, _) in enumerate(layout) if kind == "row"]
            tags.append(pd.DataFrame({"item": touched["_i"], "relation": index, "value": _joined(touched, keys)}))
        else:
            for i, (kind, column) in enumerate(layout):
                if kind == "anchor" and column in relation.anchors:
                    tags.append(pd.DataFrame({"item": touched["_i"], "relation": index,
                                              "value": column + "=" + texts(touched[f"_t{i}"])}))
    tags_frame = pd.concat(tags, ignore_index=True).dropna().drop_duplicates() if tags else _empty_tags()
    return frame, tags_frame


def _touched(engine: Engine, query: Query, shape: WriteShape, params: list[tuple],
             mine: list[tuple[int, Relation]]) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """The rows each write touches: their keys and anchor columns before (and, where set, after) the write."""
    target = shape.table
    anchors = list(dict.fromkeys(c for _, r in mine for c in r.anchors))
    outputs, layout = [], []
    if shape.kind == "insert":
        for column in anchors:
            outputs.append(shape.values[column].copy())
            layout.append(("anchor", column))
        select = exp.select(*[e.as_(f"_t{i}") for i, e in enumerate(outputs)], exp.column("_i", table="_p"))
        select = select.from_(_values_of(list(query.params), params))
    else:
        for column in target.primary_key.columns if target.primary_key else ():
            outputs.append(exp.column(column, table="_w"))
            layout.append(("row", column))
        for column in anchors:
            outputs.append(exp.column(column, table="_w"))
            layout.append(("anchor", column))
            if column in shape.values:  # the new value as well as the old one
                outputs.append(_qualify_to(shape.values[column].copy(), "_w"))
                layout.append(("anchor", column))
        where = query.expression.args.get("where")
        on = _qualify_to(where.this.copy(), "_w") if where is not None else exp.true()
        written = query.expression.this  # the table as the workload names it (the engine's search path)
        place = (written.this if isinstance(written, exp.Schema) else written).copy().as_("_w")
        select = exp.select(*[e.as_(f"_t{i}") for i, e in enumerate(outputs)], exp.column("_i", table="_p"))
        select = select.from_(_values_of(list(query.params), params)).join(place, on=on)
    try:
        touched = engine.query(_parameters_as_columns(select, list(query.params)).sql(engine.dialect))
    except WorkbenchError as error:
        raise WorkbenchError(f"write {query.name!r} (line {query.line}): cannot find the rows it touches: "
                             f"{error}") from error
    touched["_i"] = touched["_i"].astype(np.int64)
    return touched, layout


def _qualify_to(expression: exp.Expression, alias: str) -> exp.Expression:
    """Unqualified column references of a single-table write, qualified with the table's alias."""
    for column in expression.find_all(exp.Column):
        if not column.table:
            column.set("table", exp.to_identifier(alias))
    return expression


def _reach(found: list[Relation], read_tags: list[pd.DataFrame], write_tags: list[pd.DataFrame],
           reads: pd.DataFrame, writes: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """CSR of the reads each write item reaches (matching tags per relation), and the blanket pairs."""
    blanket = pd.DataFrame([(r.write, r.read) for r in found if r.kind == "all"],
                           columns=["write", "read"]).drop_duplicates()
    rt = pd.concat(read_tags, ignore_index=True) if read_tags else _empty_tags()
    wt = pd.concat(write_tags, ignore_index=True) if write_tags else _empty_tags()
    pairs = wt.merge(rt, on=["relation", "value"], suffixes=("_w", "_r"))[["item_w", "item_r"]]
    star = rt[rt["value"] == "*"]
    if len(star):  # reads with too many rows behind them: every write item of the relation reaches them
        by_query = writes.reset_index().groupby("query")["index"].apply(list)
        extra = [(w, r) for relation, r in zip(star["relation"], star["item"], strict=True)
                 for w in by_query.get(found[relation].write, [])]
        pairs = pd.concat([pairs, pd.DataFrame(extra, columns=["item_w", "item_r"])], ignore_index=True)
    pairs = pairs.drop_duplicates().sort_values(["item_w", "item_r"])
    counts = np.bincount(pairs["item_w"].to_numpy(np.int64), minlength=len(writes))
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return indptr, pairs["item_r"].to_numpy(np.int64), blanket


def _joined(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    value = texts(frame[columns[0]])
    for column in columns[1:]:
        value = value + "\x1f" + texts(frame[column])
    return value


def _param_text(params: list[tuple]) -> list[str]:
    return [", ".join(str(v) for v in row) for row in params]


def _empty_tags() -> pd.DataFrame:
    return pd.DataFrame({"item": pd.Series(dtype=np.int64), "relation": pd.Series(dtype=np.int64),
                         "value": pd.Series(dtype=object)})


def _empty_writes() -> pd.DataFrame:
    return pd.DataFrame({"params": pd.Series(dtype=object), "latency_ms": pd.Series(dtype=float),
                         "measured": pd.Series(dtype=bool), "query": pd.Series(dtype=object)})
