"""Lesson 6, caching: a cache in front of the shop, sized, chosen and tuned on the shop's own request stream.

The ``ecommerce`` shop is loaded into DuckDB and its cache workload (product pages, searches, order
histories, price changes, reviews) becomes a request stream (:func:`workbench.cache.trace`). Every answer
is simulated on that stream with libCacheSim (:func:`workbench.cache.simulate`): the smallest cache that
reaches a hit ratio, the eviction policy that earns the most at a small size, and the longest TTL whose
stale reads stay under a limit. The feedback names the figure the simulation measured.
"""

from __future__ import annotations

from pathlib import Path

from workbench.cache import POLICIES, Trace, format_size, parse_size, simulate, trace
from workbench.domains import domain
from workbench.engines import connect
from workbench.errors import WorkbenchError
from workbench.workshop.feedback import Feedback
from workbench.workshop.lesson import AnswerProblem, Exercise, Lesson

WORKLOAD = Path(__file__).resolve().parents[2] / "datasets" / "ecommerce" / "workload_cache.sql"
REQUESTS, RATE = 20_000, 200
TARGET_HIT = 0.80  # LRU, cache-aside, invalidation on write
WASTE = 1.5  # a size this many times the smallest that reaches the target wastes memory
SMALL = 0.05  # the policy exercise's cache: this share of the working set
CLOSE = 0.01  # a policy within one point of the best is as good on this stream
CANDIDATES = ("lru", "fifo", "clock", "lfu", "arc", "2q", "s3fifo", "sieve")
STALE_LIMIT = 0.15  # ttl-only invalidation: at most this share of reads stale
TTL_GRID = (0.5, 1, 1.5, 2, 3, 4, 5, 7.5, 10, 15, 20, 30, 60)
SIZE_HINT = ("simulate a few sizes first (lesson.curve() draws the hit ratio of LRU against size), then answer "
             "with the smallest that reaches the target, as text with a unit (\"25kB\") or bytes")
POLICY_HINT = ("at a small size, order details read once push the hot product pages out of LRU; policies with a "
               "probation queue (S3-FIFO, SIEVE, 2Q) or a count of uses (LFU) keep the hot pages: try "
               "lesson.compare_policies()")
TTL_HINT = ("without invalidation a changed page is served until its copy expires: the longer the TTL, the more "
            "stale reads; lesson.staleness() lists the stale rate of a few TTLs")


def build(scale: str | float = "ci", *, seed: int = 7, requests: int = REQUESTS) -> Lesson:
    """The lesson with ``lesson.trace``: the shop's request stream drawn from its data at ``scale``."""
    shop = domain("ecommerce")
    with connect("duckdb") as engine:
        shop.load(engine, scale, seed=seed, progress=False)
        stream = trace(shop, engine, requests=requests, seed=seed, rate=RATE, workload=WORKLOAD, progress=False)
    context = Context(stream)
    lesson = Lesson("caching", "Lesson 6 · Caching",
                    "the storefront reads product pages and searches far more often than prices change: how big "
                    "a cache, which eviction policy, and how long may a copy live?", [
                        Exercise("size", f"{TARGET_HIT:.0%} of reads from the cache", "the smallest cache size "
                                 f"(e.g. \"25kB\") at which LRU serves {TARGET_HIT:.0%} of reads", context.judge_size),
                        Exercise("policy", "the policy for this stream", "the eviction policy (one of "
                                 f"{', '.join(CANDIDATES)}) with the most hits in {format_size(context.small)}",
                                 context.judge_policy),
                        Exercise("ttl", "a TTL for stale reads", "the longest TTL in seconds with at most "
                                 f"{STALE_LIMIT:.0%} of reads stale, when writes do not invalidate",
                                 context.judge_ttl),
                    ])
    lesson.trace, lesson.working_set, lesson.small = stream, stream.working_set_bytes, context.small
    lesson.curve, lesson.compare_policies, lesson.staleness = context.curve, context.compare_policies, context.staleness
    return lesson


class Context:
    """The stream every answer is simulated on, and the reference figures measured on it once."""

    def __init__(self, stream: Trace):
        self.trace = stream
        self.small = max(4096, int(stream.working_set_bytes * SMALL))
        self.smallest = self._smallest()
        stale = self._stale(list(TTL_GRID))
        within = stale[stale["stale_rate"] <= STALE_LIMIT]
        self.longest_ttl = float(within["ttl_s"].max()) if len(within) else None

    def curve(self, ax=None):
        """LRU's hit ratio against cache size on the lesson's stream (the miss-ratio curve, drawn)."""
        sizes = [int(self.trace.working_set_bytes * share / 100) for share in (2, 5, 10, 20, 30, 50, 75, 100)]
        return simulate(self.trace, policies="lru", sizes=sizes, progress=False).miss_ratio_curve(ax=ax)

    def compare_policies(self, policies: tuple[str, ...] = ("lru", "fifo")):
        """Hit ratios of ``policies`` (and Belady's optimum) at the policy exercise's size."""
        frame = simulate(self.trace, policies=list(policies), sizes=[self.small], progress=False).frame
        return frame[["policy", "size", "hit_ratio"]].round(4)

    def staleness(self, ttls: tuple[float, ...] = (60, 300)):
        """Hit ratio and stale rate of LRU with ``ttls`` and no invalidation on write."""
        frame = simulate(self.trace, policies="lru", sizes=[self.trace.working_set_bytes], ttls=list(ttls),
                         invalidation="ttl-only", progress=False).frame
        return frame[frame["policy"] == "lru"][["ttl_s", "hit_ratio", "stale_rate"]].round(4).reset_index(drop=True)

    def judge_size(self, answer: str | int | None) -> Feedback:
        size = _size(answer)
        hit = float(self._lru([size])["hit_ratio"].iloc[0])
        measured = [f"LRU in {format_size(size)} serves {hit:.1%} of reads "
                    f"(the working set is {format_size(self.trace.working_set_bytes)})"]
        right, missing = [], []
        if hit < TARGET_HIT:
            missing.append(f"{format_size(size)} serves {hit:.1%} of reads, {100 * (TARGET_HIT - hit):.1f} points "
                           f"short of {TARGET_HIT:.0%}: the cache is too small")
        else:
            right.append(f"{format_size(size)} reaches {TARGET_HIT:.0%} ({hit:.1%} measured)")
            if self.smallest is not None and size > WASTE * self.smallest:
                missing.append(f"{format_size(self.smallest)} already reaches {TARGET_HIT:.0%}: "
                               f"{format_size(size)} is {size / self.smallest:.1f}x the memory for a few points more")
            else:
                right.append(f"within {WASTE:g}x of the smallest size that does: little memory spent for nothing")
        return Feedback("size", f"{TARGET_HIT:.0%} of reads from the cache", not missing, right, missing, SIZE_HINT,
                        measured)

    def judge_policy(self, answer: str | None) -> Feedback:
        if not isinstance(answer, str) or not answer.strip():
            raise AnswerProblem("no policy named yet", POLICY_HINT)
        chosen = answer.strip().lower()
        if chosen not in CANDIDATES:
            known = "a policy this lesson does not compare" if chosen in POLICIES else "not a policy name"
            raise AnswerProblem(f"{answer.strip()!r} is {known}; choose one of {', '.join(CANDIDATES)}", POLICY_HINT)
        frame = simulate(self.trace, policies=list(CANDIDATES), sizes=[self.small], progress=False).frame
        hits = dict(zip(frame["policy"], frame["hit_ratio"], strict=True))
        best = max(CANDIDATES, key=lambda p: hits[p])
        measured = [f"in {format_size(self.small)}: " + ", ".join(f"{p} {hits[p]:.1%}" for p in CANDIDATES)
                    + f"; Belady's optimum {hits['belady']:.1%}"]
        if hits[best] - hits[chosen] <= CLOSE:
            return Feedback("policy", "the policy for this stream", True,
                            [f"{chosen} serves {hits[chosen]:.1%} of reads, within a point of the best "
                             f"({best}, {hits[best]:.1%})"], measured=measured)
        return Feedback("policy", "the policy for this stream", False,
                        [f"{chosen} serves {hits[chosen]:.1%} of reads"],
                        [f"{best} serves {hits[best]:.1%}: {100 * (hits[best] - hits[chosen]):.1f} points more in the "
                         "same memory"], POLICY_HINT, measured)

    def judge_ttl(self, answer: float | None) -> Feedback:
        if answer is None or isinstance(answer, bool) or not isinstance(answer, int | float):
            raise AnswerProblem("no TTL yet: the answer must be a number of seconds"
                                if answer is None else f"{answer!r} is not a number of seconds", TTL_HINT)
        if answer <= 0:
            raise AnswerProblem(f"a TTL of {answer} s is not positive: every copy would expire before a read", TTL_HINT)
        row = self._stale([float(answer)]).iloc[0]
        stale, hit = float(row["stale_rate"]), float(row["hit_ratio"])
        measured = [f"TTL {answer:g} s: {stale:.1%} of reads stale, {hit:.1%} served by the cache"]
        right, missing = [], []
        if stale > STALE_LIMIT:
            missing.append(f"with a TTL of {answer:g} s, {stale:.1%} of reads are stale: more than {STALE_LIMIT:.0%}")
        else:
            right.append(f"{stale:.1%} of reads stale: within {STALE_LIMIT:.0%}")
            if self.longest_ttl is not None and answer < self.longest_ttl / 2:
                missing.append(f"a TTL of {self.longest_ttl:g} s also keeps stale reads within {STALE_LIMIT:.0%} "
                               f"and serves more reads from the cache: {answer:g} s gives hits away")
            else:
                right.append("close to the longest TTL within the limit: copies live as long as staleness allows")
        return Feedback("ttl", "a TTL for stale reads", not missing, right, missing, TTL_HINT, measured)

    def _smallest(self) -> int | None:
        """The smallest size at which LRU reaches the target, within 2% (LRU's hit ratio grows with size)."""
        low, high = 1, self.trace.working_set_bytes
        if self._lru([high])["hit_ratio"].iloc[0] < TARGET_HIT:
            return None
        while high - low > high * 0.02:
            middle = (low + high) // 2
            low, high = (low, middle) if self._lru([middle])["hit_ratio"].iloc[0] >= TARGET_HIT else (middle, high)
        return high

    def _lru(self, sizes: list[int]):
        frame = simulate(self.trace, policies="lru", sizes=sizes, progress=False).frame
        return frame[frame["policy"] == "lru"].reset_index(drop=True)

    def _stale(self, ttls: list[float]):
        frame = simulate(self.trace, policies="lru", sizes=[self.trace.working_set_bytes], ttls=ttls,
                         invalidation="ttl-only", progress=False).frame
        return frame[frame["policy"] == "lru"].reset_index(drop=True)


def _size(answer: str | int | None) -> int:
    if answer is None or (isinstance(answer, str) and not answer.strip()):
        raise AnswerProblem("no cache size yet", SIZE_HINT)
    try:
        return parse_size(answer)
    except WorkbenchError as error:
        raise AnswerProblem(str(error).splitlines()[0], SIZE_HINT) from error
