"""Eviction policies: libCacheSim's, by the names the workbench accepts (nothing here evicts by hand).

``sampled-lru`` is libCacheSim's RandomLRU: it samples ``n`` cached keys and evicts the least recently
used of them, which is how Redis's ``allkeys-lru`` works (``maxmemory-samples``, 5 by default); Redis
keeps a pool of 16 good candidates between evictions, which brings it closer to exact LRU.
``belady`` is the offline optimum for equal sizes (it needs each request's next access time).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import libcachesim as lcs
from libcachesim import libcachesim_python as core

from workbench.errors import UnknownNameError

_CLASSES = {
    "lru": "LRU", "lfu": "LFU", "arc": "ARC", "s3fifo": "S3FIFO", "sieve": "Sieve", "wtinylfu": "WTinyLFU",
    "2q": "TwoQ", "fifo": "FIFO", "clock": "Clock", "lirs": "LIRS", "slru": "SLRU", "lecar": "LeCaR",
    "lfuda": "LFUDA", "gdsf": "GDSF", "random": "Random", "belady": "Belady",
}
POLICIES = (*_CLASSES, "sampled-lru")
OPTIMUM = "belady"
# libCacheSim 0.3.5's implementations that crashed the process (segmentation fault) here when objects were
# removed (invalidations, expiries) or updated: simulated in a child process, a crash reported, not fatal
FRAGILE = frozenset({"wtinylfu", "slru", "lecar", "lfuda"})
REDIS_SAMPLES = 5  # Redis's default maxmemory-samples


def policy_names(text: str | list[str] | tuple[str, ...]) -> list[str]:
    """Policy names from ``"lru,arc"`` or a list, checked (``s3-fifo`` and ``S3FIFO`` read as ``s3fifo``)."""
    names = [n.strip() for n in text.split(",")] if isinstance(text, str) else list(text)
    checked = []
    for name in filter(None, names):
        canonical = name.lower().replace("_", "-")
        canonical = {"s3-fifo": "s3fifo", "w-tinylfu": "wtinylfu", "twoq": "2q", "redis-lru": "sampled-lru",
                     "opt": "belady"}.get(canonical, canonical)
        if canonical not in POLICIES:
            raise UnknownNameError("cache policy", name, POLICIES)
        checked.append(canonical)
    if not checked:
        raise UnknownNameError("cache policy", str(text), POLICIES)
    return list(dict.fromkeys(checked))


def make_cache(policy: str, size: int, *, objects: int, samples: int = REDIS_SAMPLES) -> core.Cache:
    """A libCacheSim cache of ``size`` bytes (its hash table sized for ``objects`` distinct objects)."""
    hashpower = max(12, min(26, math.ceil(math.log2(max(objects, 2))) + 1))
    if policy == "sampled-lru":
        params = core.CommonCacheParams(cache_size=size, default_ttl=86400 * 3650, hashpower=hashpower,
                                        consider_obj_metadata=False)
        return core.RandomLRU_init(params, f"n-samples={samples}")
    factory: Callable = getattr(lcs, _CLASSES[policy])
    return factory(cache_size=size, hashpower=hashpower)._cache
