"""Fidelity checks over the shared corpus of real schemas (env WORKBENCH_CORPUS, else ../shared/corpus)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def corpus_dir() -> Path:
    """The corpus folder; the fidelity tests are not collected when it does not exist."""
    configured = os.environ.get("WORKBENCH_CORPUS")
    return Path(configured) if configured else REPO_ROOT.parent / "shared" / "corpus"
