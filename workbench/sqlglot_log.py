"""sqlglot's "Falling back to parsing as a 'Command'" warning, kept off the terminal once for the whole package.

sqlglot logs it for every statement it cannot parse in full, often several times per statement; the workbench
reports each such statement itself (import report, workload problems, variant errors), so on the terminal
the warning only repeats it, in the middle of progress bars. This filter drops that one message; every other
record of sqlglot's logger passes. ``workbench/__init__.py`` installs it on import.
"""

from __future__ import annotations

import logging

FALLBACK = "Falling back to parsing as a 'Command'"


class CommandFallbackFilter(logging.Filter):
    """Drops sqlglot's fallback-to-Command warning, keeps everything else."""

    def filter(self, record: logging.LogRecord) -> bool:
        return FALLBACK not in record.getMessage()


def install() -> None:
    """Add the filter to sqlglot's logger (once, however often it is called)."""
    logger = logging.getLogger("sqlglot")
    if not any(isinstance(f, CommandFallbackFilter) for f in logger.filters):
        logger.addFilter(CommandFallbackFilter())
