"""Secure command: a domain's access-control policy as SQL, applied in a sandbox, and proven by attacks.

Without --apply it prints the policy's SQL (a dry run, roles prefixed wb_dryrun_). With --apply it loads the
domain's generated data into the engine's sandbox, applies the policy there and prints what ran; --prove
(implies --apply) runs the attack suite as each role and tenant. Exit codes: 0, or 1 when an attack the
policy should block got through, 2 on bad input (any WorkbenchError). The sandbox and its roles are dropped
at the end.
"""

from __future__ import annotations

import argparse
import json
import sys


def cmd_secure(args: argparse.Namespace) -> int:
    from workbench.domains import domain, parse_scale
    from workbench.engines import connect
    from workbench.security import Policy, prove
    from workbench.security.lint import lint

    chosen = domain(args.dataset)
    policy = Policy.from_toml(args.policy, schema=chosen.schema)
    if args.weakened:
        policy = policy.weakened()
    if not (args.apply or args.prove):
        statements = policy.sql()
        if args.json:
            json.dump({"statements": statements, "applied": False}, sys.stdout, indent=2)
            print()
        else:
            print("\n".join(f"{s};" for s in statements))
        return 0
    progress = not (args.json or args.quiet)
    with connect(args.engine) as engine:
        chosen.load(engine, parse_scale(args.scale), seed=args.seed, progress=progress)
        applied = policy.apply(engine)
        findings = lint(chosen.schema, engine=engine, policy=policy, disable=["WB309"])
        proof = prove(engine, policy, progress=progress) if args.prove else None
    if args.json:
        json.dump(json.loads(proof.to_json()) if proof is not None else
                  {"statements": applied.statements, "applied": True, "roles": applied.roles}, sys.stdout, indent=2)
        print()
    else:
        print("\n".join(f"{s};" for s in applied.statements))
        print(f"-- applied in the sandbox; roles {', '.join(applied.roles.values())} are dropped with it")
        print(str(findings))
        if proof is not None:
            print(_matrix(proof))
            print(repr(proof))
    return 1 if proof is not None and not proof.ok else 0


def _matrix(proof: object) -> str:
    """Attack · target down, role across: blocked, allowed (by design) or HOLE, over both tenants."""
    frame = proof.frame.assign(cell=proof.frame.apply(
        lambda r: "HOLE" if (r.expected, r.result) == ("blocked", "allowed") else
        "allowed" if r.result == "allowed" else "blocked" if r.expected == "blocked" else "blocked!", axis=1))
    worst = {"HOLE": 3, "blocked!": 2, "allowed": 1, "blocked": 0}
    frame = frame.assign(rank=frame["cell"].map(worst), row=frame["attack"] + " · " + frame["target"].astype(str))
    cells = frame.loc[frame.groupby(["row", "role"], sort=False)["rank"].idxmax()]
    return cells.pivot(index="row", columns="role", values="cell").reindex(
        frame["row"].unique()).fillna("").to_string()


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("secure", help="access-control policy: SQL, apply in a sandbox, prove by attacks",
                                 description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", help="a domain name (see `workbench datasets`) or its folder")
    parser.add_argument("--policy", required=True, help="the policy TOML file (e.g. datasets/multitenant/policy.toml)")
    parser.add_argument("--engine", default="postgres", help="postgres (embedded) or postgresql://... (a sandbox "
                                                             "schema there; the user needs CREATEROLE)")
    parser.add_argument("--apply", action="store_true", help="load the domain's data and apply the policy in the "
                                                             "sandbox (otherwise print its SQL only)")
    parser.add_argument("--prove", action="store_true", help="run the attack suite (implies --apply); exit 1 if "
                                                             "an attack the policy should block succeeds")
    parser.add_argument("--weakened", action="store_true", help="the policy with its classic holes (no FORCE, "
                                                                "WITH CHECK (true), views without security_invoker)")
    parser.add_argument("--scale", default="ci", help="data scale with --apply (default ci)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help='print {"attacks": [...]} (with --prove), or the '
                                                            "statements")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(run=cmd_secure)
