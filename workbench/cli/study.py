"""``workbench study``: run a design study headless, write results and report, gate CI on regressions."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from workbench.cli.inputs import at_least

SUMMARY = ["engine", "variant", "query", "n", "ok", "timeouts", "errors", "p50", "p50_low", "p50_high", "p95"]
REGRESSION = ["engine", "variant", "query", "old_p50", "new_p50", "ratio", "ratio_low", "ratio_high", "note"]


def cmd_study(args: argparse.Namespace) -> int:
    from workbench.bench import Study
    from workbench.domains import parse_scale

    changes = {"repetitions": args.repetitions} if args.repetitions else {}
    study = Study.from_toml(args.study, scale=parse_scale(args.scale) if args.scale else None,
                            engines=args.engine, **changes)
    from workbench.bench import gate

    old = gate.earlier_run(args.baseline) if args.baseline else None  # read first: a wrong one costs no run
    out = Path(args.out)
    try:
        results = study.run(out, resume=args.resume, progress=not args.quiet)
    except KeyboardInterrupt:
        raise KeyboardInterrupt(f"the measurements so far are kept in {out}; complete them with --resume") from None
    print(f"{study!r}\nresults: {out / 'results.parquet'}  report: {out / 'report.html'}\n")
    print(_table(results.summary()[SUMMARY]))
    print("\nwinners (faster than the baseline beyond the confidence interval):")
    print(_table(results.winners()))
    failures = results.failures()
    if len(failures):
        print(f"\n{len(failures)} failure(s):")
        print(_table(failures))
    for note in results.meta.get("notes", []):
        print(f"note: {note}")
    if unmeasured := _unmeasured(results.variants):
        print(f"error: nothing was measured on {'; '.join(unmeasured)}", file=sys.stderr)
        return 2
    if old is None:
        return 0
    return _gate(study, results, old, args.baseline, args.fail_if_slower, out, quiet=args.quiet)


def _gate(study: object, results: object, old: object, baseline: str, threshold: float, out: Path, *,
          quiet: bool) -> int:
    """Fail (1) only on queries slower than ``baseline`` that a fresh re-run confirms (BENCHMARKING.md rule 9)."""
    from workbench.bench import gate

    suspects = gate.flagged(results, old, threshold)
    if suspects.empty:
        print(f"\nno query slower than {threshold:g}x the baseline {baseline}")
        return 0
    print(f"\nfirst check: {len(suspects)} regression(s) against {baseline} (slower than {threshold:g}x beyond "
          f"the confidence interval):")
    print(_table(suspects[REGRESSION]))
    print(f"\nre-check: the same variants and parameter draws again, fresh repetitions ({out / 'recheck'}):")
    again = gate.recheck(study, old, suspects, out / "recheck", threshold=threshold, progress=not quiet)
    print(_table(again.rename(columns={"regressed": "still_slower"})[[*REGRESSION, "still_slower"]]))
    confirmed = again[again["regressed"]]
    if confirmed.empty:
        print(f"\nno regression confirmed: none of the {len(suspects)} flagged is still slower in the re-check "
              f"(drift between runs)")
        return 0
    print(f"\n{len(confirmed)} regression(s) confirmed by the re-check against {baseline}:")
    print(_table(confirmed[["engine", "variant", "query", "old_p50", "new_p50", "ratio"]]))
    return 1


def _unmeasured(variants: pd.DataFrame) -> list[str]:
    """Each engine on which no variant could run, with why (its variants' reasons, each once)."""
    found = []
    for engine, group in variants.groupby("engine", sort=False):
        if not (group["status"] == "ok").any():
            reasons = "; ".join(dict.fromkeys(f"{r.variant} {r.status}: {str(r.error).splitlines()[0]}"
                                              for r in group.itertuples()))
            found.append(f"{engine} (every variant failed or was skipped: {reasons})")
    return found


def _table(frame: pd.DataFrame) -> str:
    return frame.to_string(index=False, float_format=lambda v: f"{v:.3g}") if len(frame) else "(none)"


def register(commands: argparse._SubParsersAction) -> None:
    study = commands.add_parser("study", help="run a design study (TOML) and write results, plots and a report")
    study.add_argument("study", help="the study file, e.g. datasets/ecommerce/study_search.toml")
    study.add_argument("--engine", action="append", help="duckdb, postgres or postgresql://... (repeatable; "
                                                        "default: the study's engines)")
    study.add_argument("--scale", help="ci, small, medium, large or a multiplier (default: the study's)")
    study.add_argument("--out", required=True, help="the folder for results.parquet, plots and report.html")
    study.add_argument("--resume", action="store_true", help="complete an interrupted run in --out")
    study.add_argument("--repetitions", type=at_least(1, int), help="measured rounds (default: the study's)")
    study.add_argument("--baseline", help="an earlier run (out folder or results.parquet) to compare with")
    study.add_argument("--fail-if-slower", type=at_least(1), default=1.2, metavar="RATIO",
                       help="with --baseline: exit 1 when a query is slower by more than RATIO beyond its "
                            "confidence interval, and still is when run again (default 1.2)")
    study.add_argument("--quiet", action="store_true", help="no progress bars")
    study.set_defaults(run=cmd_study)
