"""Lesson 3, partitioning: sensor readings split by time, what a query reads, and retention without DELETE.

The ``timeseries`` domain is generated once and loaded into PostgreSQL twice: as designed
(``lesson.engine``) and range-partitioned by ``recorded_at`` into twelve parts
(``lesson.partitioned``). The exercises: a partitioning under which the last day reads one partition
(loaded and explained for real), the statement that removes the oldest partition's rows the fast
way (run on a copy), and a query for one device's last day that reads one partition.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pandas as pd
from sqlglot import exp

from workbench.bench.partition_load import load_partitioned, partition_rows
from workbench.bench.partition_measure import scanned_partitions
from workbench.bench.partitioning import PartitionSpec
from workbench.domains import domain
from workbench.engines import Engine, connect
from workbench.workshop import answers
from workbench.workshop.feedback import Feedback
from workbench.workshop.lesson import AnswerProblem, Exercise, Lesson, closed_on_failure

PARTS = 12  # the lesson's own partitioning: range over recorded_at, twelve equal spans
SPEC = PartitionSpec("readings", "range", "recorded_at", PARTS)
FEWEST, MOST = 4, 64  # a sensible count: fewer barely prunes, many more costs planning and catalog
PRUNE_HINT = ("split readings by range over recorded_at: PartitionSpec(\"readings\", \"range\", \"recorded_at\", 12) "
              "gives twelve equal time spans, and a window on recorded_at then reads only the spans it overlaps")
RETENTION_HINT = ("the oldest rows are exactly the oldest partition (lesson.partitions lists them): DROP TABLE "
                  "readings_p00, or ALTER TABLE readings DETACH PARTITION readings_p00 to keep its rows elsewhere, "
                  "removes them at once")
DEVICE_HINT = ("filter on the partition key with a constant: WHERE device_id = ... AND recorded_at >= the lesson's "
               "timestamp; the planner then skips every partition that ends before it")


def build(scale: str | float = "ci", *, seed: int = 42) -> Lesson:
    """The lesson with ``lesson.engine`` (as designed) and ``lesson.partitioned`` (range x12) loaded; pruning and
    retention work the same at any scale (``"small"`` makes the DELETE of the oldest partition visibly slower)."""
    series = domain("timeseries")
    data = series.generate(scale, seed=seed)
    engine, partitioned = connect("postgres"), connect("postgres")
    with closed_on_failure(engine, partitioned):
        engine.load(series.schema, data)
        load_partitioned(partitioned, series.schema, SPEC, data)
        latest = pd.Timestamp(engine.query("SELECT max(recorded_at) AS latest FROM readings")["latest"].iloc[0])
        since = (latest - timedelta(days=1)).isoformat()
        device = _busiest_device(engine, since)
    context = Context(series, data, engine, partitioned, since, device)
    lesson = Lesson("partitioning", "Lesson 3 · Partitioning",
                    "sensor readings grow every minute; the dashboard reads the last day and retention removes the "
                    "oldest data: partition readings, by what, and into how many parts?", [
                        Exercise("prune", "the last day reads one partition", "a PartitionSpec(...) of readings under "
                                 f"which the last day reads one partition ({FEWEST} to {MOST} partitions)",
                                 context.judge_prune),
                        Exercise("retention", "retention without DELETE", "the statements that remove the rows of "
                                 "the oldest partition of lesson.partitioned", context.judge_retention),
                        Exercise("device-day", "one device, one partition", f"a query of all columns of readings "
                                 f"for device {device} since {since} that reads one partition", context.judge_device),
                    ], closers=[engine.close, partitioned.close])
    lesson.engine, lesson.partitioned, lesson.since, lesson.device = engine, partitioned, since, device
    lesson.window_sql = context.window
    lesson.partitions = partition_rows(partitioned, SPEC)
    return lesson


class Context:
    """What the checks share: the data, both engines, the last day's start and the lesson's device."""

    def __init__(self, series, data, engine: Engine, partitioned: Engine, since: str, device: int):
        self.series, self.data, self.engine, self.partitioned = series, data, engine, partitioned
        self.since, self.device = since, device
        self.window = _select(exp.column("recorded_at") >= _timestamp(since), exp.Count(this=exp.Star()))
        self.history = _select(exp.column("device_id").eq(device), exp.Count(this=exp.Star()))

    def judge_prune(self, answer: PartitionSpec | None) -> Feedback:
        if answer is None:
            raise AnswerProblem("no partitioning yet (the answer is None)", PRUNE_HINT)
        if not isinstance(answer, PartitionSpec):
            raise AnswerProblem(f"the answer is a {type(answer).__name__}, not a PartitionSpec(...)", PRUNE_HINT)
        if answer.table.rpartition(".")[2] != "readings":
            raise AnswerProblem(f"the answer partitions {answer.table}; the exercise is about readings", PRUNE_HINT)
        if answer.by == "sorted":
            raise AnswerProblem("sorted is DuckDB's clustering (the table loaded in order), not partitioning",
                                PRUNE_HINT)
        with connect("postgres") as engine:
            try:
                load_partitioned(engine, self.series.schema, answer, self.data, progress=False)
            except Exception as error:  # e.g. a key the primary key does not hold: PostgreSQL's rule, named
                raise AnswerProblem(f"the partitioning cannot be built: {str(error).splitlines()[0]}",
                                    PRUNE_HINT) from error
            window = scanned_partitions(engine, answer, self.window)
            history = scanned_partitions(engine, answer, self.history)
        right, missing = [f"readings split {answer.count} ways by {answer.by} on {answer.key}, loaded"], []
        measured = [f"the last day reads {len(window)} of {answer.count} partitions; one device's whole history "
                    f"reads {len(history)}"]
        if len(window) == 1:
            right.append("the last day reads one partition: the rest are pruned when the query is planned")
        else:
            missing.append(f"the last day reads {len(window)} of {answer.count} partitions: a filter on recorded_at "
                           f"cannot skip partitions made by {answer.by} on {answer.key}")
        if answer.count < FEWEST:
            missing.append(f"{answer.count} partitions barely prune: the last day still reads "
                           f"1/{answer.count} of all readings")
        elif answer.count > MOST:
            missing.append(f"{answer.count} partitions: every query that cannot prune plans and opens them all, "
                           "and each is a table in the catalog")
        else:
            right.append(f"{answer.count} partitions: few enough to plan quickly, enough to prune")
        return Feedback("prune", "the last day reads one partition", not missing, right, missing, PRUNE_HINT, measured)

    def judge_retention(self, answer: str) -> Feedback:
        found = answers.statements(answer, (exp.Drop, exp.Delete, exp.Alter, exp.Command, exp.TruncateTable),
                                   "DROP, ALTER or DELETE statement", RETENTION_HINT)
        parts = partition_rows(self.partitioned, SPEC)
        oldest, rest = parts.iloc[0], parts.iloc[1:]
        with answers.on_a_copy(self.partitioned, []) as twin:
            started = time.perf_counter()
            answers.run(twin, found)
            seconds = time.perf_counter() - started
            remaining = int(twin.query("SELECT count(*) AS n FROM readings")["n"].iloc[0])
            kept = twin.query("SELECT tableoid::regclass::text AS part, count(*) AS n FROM readings GROUP BY 1")
        right, missing = [], []
        kept = dict(zip(kept["part"], kept["n"].astype(int), strict=True))
        if str(oldest["partition"]) not in kept and remaining == int(rest["rows"].sum()):
            right.append(f"the {int(oldest['rows']):,} oldest readings are gone and the other "
                         f"{remaining:,} are all still there")
        else:
            missing.append(f"{remaining:,} readings remain; removing exactly the oldest partition leaves "
                           f"{int(rest['rows'].sum()):,}")
        if any(isinstance(s, exp.Delete) for s in found):
            missing.append("DELETE removes the rows one by one: its time grows with the rows it removes, and it "
                           "leaves dead rows behind for VACUUM")
        elif not missing:
            right.append("a catalog change, whatever the partition holds: no row is read")
            if any("DETACH" in s.sql("postgres").upper() for s in found):
                right.append(f"detached, the rows live on as table {oldest['partition']}: archive it, then drop it")
        measured = [f"your statements took {seconds * 1000:.1f} ms on a copy of lesson.partitioned"]
        return Feedback("retention", "retention without DELETE", not missing, right, missing, RETENTION_HINT, measured)

    def judge_device(self, answer: str) -> Feedback:
        sql = answers.query(answer, DEVICE_HINT)
        reference = _select(exp.and_(exp.column("device_id").eq(self.device),
                                     exp.column("recorded_at") >= _timestamp(self.since)), exp.Star())
        right, missing = answers.compare(answers.rows(self.partitioned, sql, DEVICE_HINT),
                                         answers.rows(self.partitioned, reference, DEVICE_HINT))
        read = scanned_partitions(self.partitioned, SPEC, sql)
        if len(read) == 1:
            right.append(f"it reads one partition ({read[0]})")
        else:
            missing.append(f"it reads {len(read)} of {PARTS} partitions when planned")
        return Feedback("device-day", "one device, one partition", not missing, right, missing, DEVICE_HINT)


def _busiest_device(engine: Engine, since: str) -> int:
    """The device with the most readings in the last day (so the exercise's answer is not empty)."""
    count = exp.Count(this=exp.Star())
    busiest = exp.select("device_id").from_("readings").where(exp.column("recorded_at") >= _timestamp(since)) \
        .group_by("device_id").order_by(exp.Ordered(this=count, desc=True), "device_id").limit(1)
    return int(engine.query(busiest.sql("postgres"))["device_id"].iloc[0])


def _timestamp(text: str) -> exp.Expression:
    return exp.cast(exp.Literal.string(text), "TIMESTAMPTZ")


def _select(condition: exp.Expression, selected: exp.Expression) -> str:
    return exp.select(selected).from_("readings").where(condition).sql("postgres")
