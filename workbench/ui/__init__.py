"""The notebook layer: rich display of the model, and ``explore(...)`` panels over the workbench's functions.

Nothing below this layer imports it (the lower layers reach ``explore`` only lazily, from a method).
"""

from workbench.ui.explore import PANELS, explore

__all__ = ["PANELS", "explore"]
