"""Caching strategies, measured: simulate cache policies on a workload's own request stream, then check
the prediction against a real Redis in front of the database.

``trace(domain, engine, requests=N)`` draws the stream; ``simulate(trace, policies=..., sizes=...)``
runs libCacheSim's policies under the application's strategies and returns :class:`CacheResults`
(``.frame``, plots, ``.what_to_cache(budget)``); ``replay(trace, engine, size=..., ttl_s=...)`` runs the
stream against a real Redis-protocol server and compares its hit ratio with the simulation's.
"""

from workbench.cache.policies import POLICIES
from workbench.cache.replay import ReplayInterrupted, ReplayResult, replay
from workbench.cache.results import CacheResults, simulate
from workbench.cache.simulate import STRATEGIES
from workbench.cache.sizes import format_size, parse_size
from workbench.cache.trace import Trace, trace

__all__ = ["POLICIES", "STRATEGIES", "CacheResults", "ReplayInterrupted", "ReplayResult", "Trace", "format_size",
           "parse_size", "replay", "simulate", "trace"]
