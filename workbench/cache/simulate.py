"""One cache configuration over a trace: libCacheSim evicts, NumPy keeps the application's books.

The request stream becomes a stream of cache operations in time order: a ``get`` per read (a miss
inserts, as a cache-aside fill does), a ``remove`` per cached read a write invalidates, an in-place
update of a cached read a write-through or write-behind write changes, and a ``remove`` (or, for
refresh-ahead, a refresh) when a copy's TTL runs out. libCacheSim runs them through C++ bound methods
called by ``map`` over prepared lists, chunk by chunk, so Python never loops per request. Each
chunk's outcome (hits, fills) is then read with NumPy: fill times, TTL expiries scheduled for later
chunks, staleness, database load.

Semantics, per strategy:

- ``cache-aside``: read the cache, on a miss read the database and store the result. Writes go to the
  database; with ``invalidation="on-write"`` they delete the cached reads they make stale (a write that
  reaches every read of a query bumps that query's key generation instead), with ``"ttl-only"`` they
  leave them to expire (and a hit on a changed result is a stale read).
- ``read-through``: the cache library loads on a miss: the same traffic in a one-request-at-a-time
  stream, listed so that the table says so.
- ``write-through``: a write also updates the cached reads it changes (those cached: no extra database
  read); reads never go stale.
- ``write-behind``: as write-through for the cache, but the database gets the write ``flush_delay_s``
  later: a read that misses in between reads the old row and caches it (a stale read until replaced).
- ``refresh-ahead``: cache-aside whose copies, read in the last ``1 - refresh_at`` of their TTL, are
  reloaded in the background when the TTL ends instead of expiring (one database read each).

TTL expiries are applied in steps of ``TTL/16`` of trace time: a copy reloaded within the step in
which its predecessor expires may be removed early (``ttl_conflicts`` counts these). Belady does not
know TTLs: under a TTL it is the optimum of eviction alone.
"""

from __future__ import annotations

import itertools
import operator
from dataclasses import dataclass
from functools import cached_property, partial
from typing import Any

import numpy as np
import pandas as pd
from libcachesim import Request

from workbench.cache.policies import OPTIMUM, make_cache
from workbench.cache.trace import READ, WRITE, Trace
from workbench.errors import UnknownNameError, WorkbenchError

STRATEGIES = ("cache-aside", "read-through", "write-through", "write-behind", "refresh-ahead")
INVALIDATIONS = ("on-write", "ttl-only")
UPDATING = ("write-through", "write-behind")
EXPIRE, REFRESH, REMOVE, UPDATE, GET = range(5)  # also the order of operations at the same instant
NEVER = np.iinfo(np.int64).max
TTL_STEPS = 16
CHUNK = 1 << 16


@dataclass(frozen=True)
class Config:
    """One simulated configuration."""

    policy: str
    strategy: str
    size_bytes: int
    ttl_s: float | None
    invalidation: str  # on-write | ttl-only | update (write-through and write-behind)
    flush_delay_s: float = 1.0
    refresh_at: float = 0.8


@dataclass
class Outcome:
    """Totals of one configuration, and the per-query split ``what_to_cache`` reads."""

    row: dict[str, Any]
    by_query: pd.DataFrame


class Prepared:
    """What every configuration of one trace shares: reads and writes as arrays, entry sizes per key."""

    def __init__(self, trace: Trace, *, entry_overhead: str | int = "redis", ttl: bool = False):
        requests = trace.requests
        self.trace = trace
        op = requests["op"].to_numpy()
        self.read_pos = np.flatnonzero(op == READ)
        self.write_pos = np.flatnonzero(op == WRITE)
        times = requests["time"].to_numpy()
        self.t_read, self.t_write = times[self.read_pos], times[self.write_pos]
        self.key = requests["item"].to_numpy()[self.read_pos].astype(np.int64)
        self.write_item = requests["item"].to_numpy()[self.write_pos].astype(np.int64)
        reads = trace.reads
        self.read_query = pd.Categorical(reads["query"], categories=trace.queries).codes.astype(np.int64)
        self.query_of_read = self.read_query[self.key]
        self.value_bytes = reads["value_bytes"].to_numpy(np.int64)
        self.latency = reads["latency_ms"].to_numpy(float)
        self.write_latency = trace.writes["latency_ms"].to_numpy(float)
        if entry_overhead == "redis":
            self.entry_bytes = trace.entry_bytes(ttl=ttl)
        else:
            self.entry_bytes = self.value_bytes + reads["key_bytes"].to_numpy(np.int64) + int(entry_overhead)
        self.write_query = pd.Categorical(trace.writes["query"], categories=trace.queries).codes.astype(np.int64)
        # edges: (write request, key) for every read a write request reaches row by row
        counts = trace.indptr[self.write_item + 1] - trace.indptr[self.write_item]
        self.edge_write = np.repeat(np.arange(len(self.write_pos)), counts)
        starts = np.repeat(trace.indptr[self.write_item] - np.cumsum(counts) + counts, counts)
        self.edge_key = trace.indices[starts + np.arange(counts.sum())] if counts.sum() else np.zeros(0, np.int64)
        self.blanket = {(trace.queries.index(w), trace.queries.index(r)) for w, r in
                        zip(trace.blanket["write"], trace.blanket["read"], strict=True)}
        self.duration_s = trace.duration_s

    @cached_property
    def by_key(self) -> np.ndarray:
        """Reads ordered by key, then time: searches over millions of reads run in this order (sorted needles
        stay in the processor's cache; in trace order the same searches take several times longer)."""
        return np.lexsort((self.t_read, self.key))

    def blanket_times(self, read_query: int) -> np.ndarray:
        """Times of the write requests that reach every read of ``read_query``."""
        queries = [w for w, r in self.blanket if r == read_query]
        return self.t_write[np.isin(self.write_query[self.write_item], queries)]


def run(prepared: Prepared, config: Config) -> Outcome:
    """Simulate one configuration (see the module doc) and return its figures."""
    if config.strategy not in STRATEGIES:
        raise UnknownNameError("cache strategy", config.strategy, STRATEGIES)
    p = prepared
    invalidating = config.invalidation != "ttl-only"
    obj, obj_key = _objects(p, invalidating)
    events = _events(p, config, obj, obj_key, invalidating)
    books = _Books(p, config, obj, obj_key, events)
    books.play()
    return books.outcome()


def _objects(p: Prepared, invalidating: bool) -> tuple[np.ndarray, np.ndarray]:
    """Object id per read (key and key generation) and the key of each object."""
    generation = np.zeros(len(p.key), dtype=np.int64)
    if invalidating and p.blanket:
        for query in {r for _, r in p.blanket}:
            mine = p.query_of_read == query
            generation[mine] = np.searchsorted(np.sort(p.blanket_times(query)), p.t_read[mine], side="left")
    if not generation.any():  # one object per key
        return p.key, np.arange(len(p.value_bytes), dtype=np.int64)
    code = p.key * (int(generation.max()) + 1) + generation
    obj, uniques = pd.factorize(code)
    return obj.astype(np.int64), (uniques // (int(generation.max()) + 1)).astype(np.int64)


def _events(p: Prepared, config: Config, obj: np.ndarray, obj_key: np.ndarray, invalidating: bool) -> dict:
    """Reads and write-caused operations as one time-ordered stream (expiries are added per chunk)."""
    kind = np.full(len(obj), GET, dtype=np.int8)
    time, target, ref = p.t_read, obj, np.arange(len(obj))
    write_kind = UPDATE if config.strategy in UPDATING else (REMOVE if invalidating else None)
    if write_kind is not None and len(p.edge_key):
        edge_time = p.t_write[p.edge_write]
        edge_obj = _current_object(p, obj, edge_time, p.edge_key)
        keep = edge_obj >= 0
        kind = np.concatenate([kind, np.full(keep.sum(), write_kind, dtype=np.int8)])
        time = np.concatenate([time, edge_time[keep]])
        target = np.concatenate([target, edge_obj[keep]])
        ref = np.concatenate([ref, np.flatnonzero(keep)])
    if write_kind is None:  # the reads alone, already in time order
        return {"kind": kind, "time": time, "obj": target, "ref": ref}
    order = np.lexsort((kind, time))
    return {"kind": kind[order], "time": time[order], "obj": target[order], "ref": ref[order]}


def _current_object(p: Prepared, obj: np.ndarray, times: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """The object a key maps to at each time (its latest read at or before then), -1 if never read yet."""
    if obj is p.key:  # one object per key (removing one never stored does nothing)
        return keys
    order = p.by_key
    sorted_key, sorted_time = p.key[order], p.t_read[order]
    position = np.searchsorted(sorted_key, keys, side="left")
    end = np.searchsorted(sorted_key, keys, side="right")
    # the latest read of the key not after the time: search inside the key's run of reads
    span = sorted_time.max() + 1.0 if len(sorted_time) else 1.0
    combined = sorted_key * span + sorted_time
    last = np.searchsorted(combined, keys * span + times, side="right") - 1
    found = (last >= position) & (last < end)
    result = np.full(len(keys), -1, dtype=np.int64)
    result[found] = obj[order[last[found]]]
    return result


class _Books:
    """The chunked run of one configuration and its bookkeeping."""

    def __init__(self, p: Prepared, config: Config, obj: np.ndarray, obj_key: np.ndarray, events: dict):
        self.p, self.config, self.obj, self.obj_key, self.events = p, config, obj, obj_key, events
        objects = len(obj_key)
        self.cache = make_cache(config.policy, config.size_bytes, objects=objects)
        sizes = p.entry_bytes[obj_key]
        self.requests = np.empty(objects, dtype=object)
        for i, size in enumerate(sizes.tolist()):
            request = Request()
            request.obj_id, request.obj_size = i + 1, size
            self.requests[i] = request
        self.ids = np.arange(1, objects + 1, dtype=object)
        self.sizes = sizes
        cache = self.cache
        self.functions = np.array([cache.remove, partial(cache.find, update_cache=False), cache.remove,
                                   partial(cache.find, update_cache=True), cache.get], dtype=object)
        self.hit = np.zeros(len(obj), dtype=bool)
        self.last_fill = np.full(objects, -np.inf)
        self.fills: list[tuple[np.ndarray, ...]] = []  # (object, time, sequence, read from the database)
        self.read_seq = np.zeros(len(obj), dtype=np.int64)
        self.refresh_ms = 0.0
        self.removed: list[tuple[np.ndarray, np.ndarray]] = []  # (object, sequence) of invalidations
        self.updates = self.refreshes = self.conflicts = self.expired = 0
        self.queue: list[np.ndarray] = []  # rows (expiry time, object, fill time), in time order
        if config.policy == OPTIMUM:
            self.next_access = _next_access(events, obj)

    def play(self) -> None:
        events, config = self.events, self.config
        time = events["time"]
        if config.ttl_s is not None:
            step = config.ttl_s / TTL_STEPS
            edges = np.arange(time[0], time[-1] + step, step) if len(time) else np.zeros(0)
            bounds = np.unique(np.concatenate([np.searchsorted(time, edges), np.arange(0, len(time), CHUNK),
                                               [len(time)]]))
        else:
            bounds = np.unique(np.concatenate([np.arange(0, len(time), CHUNK), [len(time)]]))
        sequence = 0
        for start, end in itertools.pairwise(bounds.tolist()):
            horizon = time[end] if end < len(time) else np.inf
            sequence = self._chunk(start, end, horizon, sequence)

    def _chunk(self, start: int, end: int, horizon: float, sequence: int) -> int:
        e = self.events
        kind, time, obj, ref = (e[k][start:end] for k in ("kind", "time", "obj", "ref"))
        expiry_time, expiry_obj = self._due(horizon)
        if len(expiry_obj):
            expiry_kind = self._expiry_kinds(expiry_obj, expiry_time)
            kind = np.concatenate([expiry_kind, kind])
            time = np.concatenate([expiry_time, time])
            obj = np.concatenate([expiry_obj, obj])
            ref = np.concatenate([np.full(len(expiry_obj), -1), ref])
            order = np.lexsort((kind, time))
            kind, time, obj, ref = kind[order], time[order], obj[order], ref[order]
        removing = (kind == REMOVE) | (kind == EXPIRE)
        arguments = np.where(removing, self.ids[obj], self.requests[obj])
        gets = kind == GET
        if self.config.policy == OPTIMUM and gets.any():
            arguments[gets] = self._belady_requests(obj[gets], ref[gets])
        outcome = np.array(list(map(operator.call, self.functions[kind].tolist(), arguments.tolist())), dtype=object)
        present = np.not_equal(outcome, None) & np.not_equal(outcome, False)  # a hit, or the object was there
        seq = sequence + np.arange(len(kind))
        self.hit[ref[gets]] = present[gets].astype(bool)
        self.read_seq[ref[gets]] = seq[gets]
        missed = gets & ~present
        refreshed = (kind == REFRESH) & present
        filled = missed | refreshed | (kind == UPDATE) & present
        self.updates += int(((kind == UPDATE) & present).sum())
        self.refreshes += int(refreshed.sum())
        self.refresh_ms += float(self.p.latency[self.obj_key[obj[refreshed]]].sum())
        self.expired += int((kind == EXPIRE).sum())
        if (kind == REMOVE).any():
            self.removed.append((obj[kind == REMOVE], seq[kind == REMOVE]))
        if filled.any():
            self._filled(obj[filled], time[filled], seq[filled], (missed | refreshed)[filled])
            self._count_conflicts(kind, obj, seq, filled)
        return sequence + len(kind)

    def _due(self, horizon: float) -> tuple[np.ndarray, np.ndarray]:
        """Expiries before ``horizon`` whose copy was not reloaded since they were scheduled."""
        if self.config.ttl_s is None or not self.queue:
            return np.zeros(0), np.zeros(0, dtype=np.int64)
        pending = np.concatenate(self.queue)
        due = pending[:, 0] < horizon
        self.queue = [pending[~due]] if (~due).any() else []
        pending = pending[due]
        objects = pending[:, 1].astype(np.int64)
        current = self.last_fill[objects] == pending[:, 2]
        return pending[current, 0], objects[current]

    def _expiry_kinds(self, objects: np.ndarray, times: np.ndarray) -> np.ndarray:
        """EXPIRE, or REFRESH for refresh-ahead copies read in the last part of their TTL."""
        kinds = np.full(len(objects), EXPIRE, dtype=np.int8)
        if self.config.strategy != "refresh-ahead":
            return kinds
        window = (1 - self.config.refresh_at) * self.config.ttl_s
        reads = self._reads_by_object()
        span, combined = reads
        recent = np.searchsorted(combined, objects * span + times, side="right") - 1
        found = recent >= 0
        recent_obj = np.where(found, (combined[np.maximum(recent, 0)] // span).astype(np.int64), -1)
        recent_time = combined[np.maximum(recent, 0)] - recent_obj * span
        read_lately = found & (recent_obj == objects) & (recent_time > times - window)
        kinds[read_lately] = REFRESH
        return kinds

    def _reads_by_object(self) -> tuple[float, np.ndarray]:
        if not hasattr(self, "_by_object"):
            span = float(self.p.t_read.max() + 1.0) if len(self.p.t_read) else 1.0
            self._by_object = (span, np.sort(self.obj * span + self.p.t_read))
        return self._by_object

    def _count_conflicts(self, kind: np.ndarray, obj: np.ndarray, seq: np.ndarray, filled: np.ndarray) -> None:
        """Copies reloaded in this chunk before their predecessor's expiry was applied (removed too early)."""
        expiring = (kind == EXPIRE) | (kind == REFRESH)
        if not expiring.any():
            return
        objects, first = np.unique(obj[expiring], return_index=True)  # each object's first expiry here
        expiry_seq = seq[expiring][first]
        where = np.minimum(np.searchsorted(objects, obj[filled]), len(objects) - 1)
        same = objects[where] == obj[filled]
        self.conflicts += int((same & (seq[filled] < expiry_seq[where])).sum())

    def _filled(self, objects: np.ndarray, times: np.ndarray, seq: np.ndarray, from_db: np.ndarray) -> None:
        self.fills.append((objects, times, seq, from_db))
        filled, last = np.unique(objects[::-1], return_index=True)  # the latest fill of each object
        latest = times[::-1][last]
        self.last_fill[filled] = latest
        if self.config.ttl_s is not None:
            rows = np.column_stack([latest + self.config.ttl_s, filled, latest])
            self.queue.append(rows[np.argsort(rows[:, 0], kind="stable")])

    def _belady_requests(self, objects: np.ndarray, reads: np.ndarray) -> list[Request]:
        made = []
        for o, n in zip(objects.tolist(), self.next_access[reads].tolist(), strict=True):
            request = Request()
            request.obj_id, request.obj_size, request.next_access_vtime = o + 1, int(self.sizes[o]), n
            made.append(request)
        return made

    def outcome(self) -> Outcome:
        p, config = self.p, self.config
        stale = self._stale()
        hit = self.hit
        latency = p.latency[p.key]
        reads, hits = len(hit), int(hit.sum())
        bytes_read = p.value_bytes[p.key]
        refresh_ms = self.refresh_ms
        write_ms = float(p.write_latency[p.write_item].sum())
        baseline_ms = float(latency.sum()) + write_ms
        db_ms = float(latency[~hit].sum()) + refresh_ms + write_ms
        db_queries = (reads - hits) + self.refreshes + len(p.write_pos)
        deletes = int(sum(len(o) for o, _ in self.removed))
        writes = len(p.write_pos)
        row = {
            "policy": config.policy, "strategy": config.strategy, "size_bytes": config.size_bytes,
            "ttl_s": config.ttl_s, "invalidation": config.invalidation,
            "requests": reads + writes, "reads": reads, "writes": writes, "hits": hits,
            "hit_ratio": hits / reads if reads else 0.0,
            "byte_hit_ratio": float(bytes_read[hit].sum() / bytes_read.sum()) if reads else 0.0,
            "stale_reads": int(stale.sum()), "stale_rate": float(stale.mean()) if reads else 0.0,
            "db_queries": db_queries, "db_queries_per_s": db_queries / p.duration_s,
            "db_queries_per_s_no_cache": (reads + writes) / p.duration_s,
            "db_time_ms": db_ms, "db_time_no_cache_ms": baseline_ms, "db_time_saved_ms": baseline_ms - db_ms,
            "cache_sets": int((~hit).sum()) + self.updates + self.refreshes,
            "cache_deletes": deletes, "cache_updates": self.updates, "refreshes": self.refreshes,
            "expiries": self.expired,
            "write_amplification": (deletes + self.updates) / writes if writes else 0.0,
            "ttl_conflicts": self.conflicts,
        }
        queries = len(p.trace.queries)
        split = {"reads": np.bincount(p.query_of_read, minlength=queries),
                 "hits": np.bincount(p.query_of_read, weights=hit, minlength=queries).astype(np.int64),
                 "stale": np.bincount(p.query_of_read, weights=stale, minlength=queries).astype(np.int64),
                 "db_time_saved_ms": np.bincount(p.query_of_read, weights=latency * hit, minlength=queries)}
        by_query = pd.DataFrame(split, index=p.trace.queries)
        return Outcome(row, by_query[by_query["reads"] > 0])

    def _stale(self) -> np.ndarray:
        """Reads served a result that no longer matches the database (see the module doc)."""
        p, config = self.p, self.config
        stale = np.zeros(len(self.hit), dtype=bool)
        if not self.fills or not len(p.write_pos) or (config.invalidation != "ttl-only"
                                                       and config.strategy != "write-behind"):
            return stale
        fill_obj = np.concatenate([o for o, *_ in self.fills])
        fill_time = np.concatenate([t for _, t, *_ in self.fills])
        fill_seq = np.concatenate([s for _, _, s, _ in self.fills])
        fill_read = np.concatenate([d for *_, d in self.fills])
        reads = p.by_key  # every read, in key order (see Prepared)
        served = _latest(fill_obj, fill_seq, self.obj[reads], self.read_seq[reads])  # the fill each copy is from
        since = np.where(served >= 0, fill_time[np.maximum(served, 0)], np.inf)
        if config.invalidation == "ttl-only":
            stale[reads] = self.hit[reads] & self._changed_between(reads, since, p.t_read[reads])
        elif config.strategy == "write-behind":  # a miss within the flush delay read the row before the write
            from_db = (served >= 0) & fill_read[np.maximum(served, 0)]
            stale[reads] = from_db & self._changed_between(reads, since - config.flush_delay_s, since)
        return stale

    def _changed_between(self, reads: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Per read of ``reads``: did a write that reaches its key land in (start, end]?"""
        p = self.p
        changed = np.zeros(len(start), dtype=bool)
        if len(p.edge_key):
            span = float(max(p.t_write.max(), p.t_read.max()) + 1.0 + (self.config.flush_delay_s or 0))
            combined = np.sort(p.edge_key * span + p.t_write[p.edge_write])
            base = p.key[reads] * span
            after = np.searchsorted(combined, base + np.clip(start, -1, span - 1), side="right")
            before = np.searchsorted(combined, base + np.clip(end, -1, span - 1), side="right")
            changed |= (before > after) & np.isfinite(start)
        for query in {r for _, r in p.blanket}:
            mine = p.query_of_read[reads] == query
            times = np.sort(p.blanket_times(query))
            after = np.searchsorted(times, start[mine], side="right")
            before = np.searchsorted(times, end[mine], side="right")
            changed[mine] |= before > after
        return changed


def _latest(fill_obj: np.ndarray, fill_seq: np.ndarray, obj: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """Per read (object, sequence): index of the latest fill of that object at or before it, -1 if none."""
    span = int(max(fill_seq.max(initial=0), seq.max(initial=0))) + 1
    order = np.argsort(fill_obj * span + fill_seq, kind="stable")
    combined = (fill_obj * span + fill_seq)[order]
    position = np.searchsorted(combined, obj * span + seq, side="right") - 1
    found = (position >= 0) & (combined[np.maximum(position, 0)] // span == obj)
    return np.where(found, order[np.maximum(position, 0)], -1)


def _next_access(events: dict, obj: np.ndarray) -> np.ndarray:
    """Per read: the sequence of the next read of its object, or NEVER if none comes or an invalidation
    removes the object first (Belady must know that the copy will not be read again)."""
    kind, target, ref = events["kind"], events["obj"], events["ref"]
    sequence = np.arange(len(kind))
    gets = kind == GET
    order = np.lexsort((sequence[gets], target[gets]))
    g_obj, g_seq, g_ref = target[gets][order], sequence[gets][order], ref[gets][order]
    following = np.full(len(g_obj), NEVER, dtype=np.int64)
    same = g_obj[1:] == g_obj[:-1]
    following[:-1][same] = g_seq[1:][same]
    removes = kind == REMOVE
    if removes.any():  # the first removal of the object after this read, if it comes before the next read
        span = len(kind) + 1
        combined = np.sort(target[removes] * span + sequence[removes])
        first = np.searchsorted(combined, g_obj * span + g_seq, side="right")
        found = first < len(combined)
        removal = combined[np.minimum(first, len(combined) - 1)]
        killed = found & (removal // span == g_obj) & (removal % span < following)
        following[killed] = NEVER
    next_access = np.full(len(obj), NEVER, dtype=np.int64)
    next_access[g_ref] = following
    return next_access


def check_config(strategy: str, invalidation: str, ttl_s: float | None) -> None:
    """Refuse a combination that means nothing, naming the fix."""
    if strategy not in STRATEGIES:
        raise UnknownNameError("cache strategy", strategy, STRATEGIES)
    if invalidation not in (*INVALIDATIONS, "update"):
        raise UnknownNameError("invalidation", invalidation, INVALIDATIONS)
    if ttl_s is not None and not ttl_s > 0:
        raise WorkbenchError(f"ttl={ttl_s}: a TTL must be a positive number of seconds (or none for no TTL)")
    if strategy == "refresh-ahead" and ttl_s is None:
        raise WorkbenchError("refresh-ahead reloads copies before their TTL ends: give a TTL (e.g. --ttl 60)")
