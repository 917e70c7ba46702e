"""Design studies: declare variants of a schema, measure them the same way, keep every result.

``Study.from_toml(path)`` or ``Study(name, domain, variants=[Variant(...)])``, then ``study.run(out=DIR)``
returns :class:`~workbench.bench.results.Results`; ``study.ddl(variant, engine)`` shows a variant's SQL.
"""

from workbench.bench.study import Study
from workbench.bench.variants import IndexSpec, Variant

__all__ = ["IndexSpec", "Study", "Variant"]
