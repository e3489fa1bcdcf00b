"""``python -m edgerank.registry COMMAND``: the model registry's command line.

    publish ARTIFACT_DIR          add an immutable version (refused: failed parity, bad checksum)
    list [NAME] [--json]          versions with their metrics and parity
    rollout NAME [SPLIT ...]      show, or set e.g. ``3=90 4=10`` / ``stable:3=90 canary:4=10``
    resolve NAME USER_ID          which version (and group) a user gets
    verify NAME [VERSION] [--repair]  re-check the stored files against their checksums;
                                  --repair first rolls back what a publisher that died left

The store is ``--store DIR``, else ``$EDGERANK_STORE``, else ``~/.edgerank/registry``.
Exit codes: 0 ok, 2 usage/config/unknown model/malformed manifest/unusable store, 3 artifact refused.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from edgerank.errors import reports_errors
from edgerank.locations import default_store


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m edgerank.registry", description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    store_help = "registry directory (default: $EDGERANK_STORE or ~/.edgerank/registry)"
    parser.add_argument("--store", default=None, help=store_help)
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--store", default=argparse.SUPPRESS, help=store_help)
    p = sub.add_parser("publish", parents=[common], help="publish an artifact directory as a new version")
    p.add_argument("artifact_dir")
    p = sub.add_parser("list", parents=[common], help="list versions with metrics and parity")
    p.add_argument("name", nargs="?")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("rollout", parents=[common], help="show or set the rollout of a model")
    p.add_argument("name")
    p.add_argument("split", nargs="*", help="VERSION=WEIGHT or GROUP:VERSION=WEIGHT; the canary goes last")
    p.add_argument("--salt", default=None, help="hash salt (default: the model name)")
    p.add_argument("--pin", action="append", default=[], metavar="USER_ID=VERSION")
    p = sub.add_parser("resolve", parents=[common], help="which version a user gets")
    p.add_argument("name")
    p.add_argument("user_id")
    p = sub.add_parser("verify", parents=[common], help="check stored files against their checksums")
    p.add_argument("name")
    p.add_argument("version", nargs="?", type=lambda v: int(v.lstrip("v")))
    p.add_argument("--repair", action="store_true", help="roll back versions a publisher that died left unindexed")
    return parser


def _format_list(records: list) -> str:
    if not records:
        return "no versions published"
    header = ["name", "version", "variant", "size", "metrics", "parity", "published"]
    rows = []
    for r in records:
        metrics = " ".join(f"{k}={v:.4g}" for k, v in sorted(r.metrics.items()) if k.startswith("test/") and isinstance(v, (int, float)))
        s = r.summary()["parity"]
        parity = " ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in s.items())
        rows.append([r.name, r.label, r.variant, f"{r.size_bytes / 1024:.1f}KiB", metrics, parity, r.published])
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows)]
    return "\n".join("  ".join(str(x).ljust(w) for x, w in zip(line, widths)).rstrip() for line in [header, *rows])


@reports_errors("edgerank.registry")
def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from edgerank.modelstore.rollout import Rollout
    from edgerank.modelstore.store import ModelStore, StoreError

    root = Path(args.store) if args.store else default_store()
    store = ModelStore(root)
    if args.command == "publish":
        record, created = store.publish(args.artifact_dir)
        verb = "published" if created else "already published (same sha256) as"
        print(f"{verb} {record.name} {record.label} ({record.variant}, {record.size_bytes} bytes, sha256 {record.sha256[:12]}) in {root}")
    elif args.command == "list":
        records = store.versions(args.name)
        print(json.dumps([r.summary() for r in records], indent=2) if args.json else _format_list(records))
    elif args.command == "rollout":
        if args.split:
            store.set_rollout(args.name, Rollout.parse(args.split, args.salt or args.name, args.pin))
        rollout = store.rollout(args.name)
        if rollout is None:
            latest = store.get(args.name)
            print(f"{args.name}: no rollout configured; every user gets the latest version {latest.label}")
        else:
            shares = rollout.shares()
            if rollout.normalised:
                print(f"{args.name}: note: weights sum to {rollout.total_weight:g}, not 100: normalised to the shares below")
            for g in rollout.groups:
                print(f"{args.name}: {g.name:<12} v{g.version}  {shares[g.name]:.1%}")
            for user, version in rollout.pins.items():
                print(f"{args.name}: pinned       v{version}  user {user}")
            print(f"{args.name}: salt {rollout.salt!r}")
    elif args.command == "resolve":
        from edgerank.modelstore.rollout import assign

        records = store.published(args.name)
        assignment = assign(store.rollout(args.name), list(records), args.user_id)
        record = records[assignment.version]
        print(json.dumps({"user_id": args.user_id, "version": record.label, "group": assignment.group, "path": str(record.path)}))
    elif args.command == "verify":
        if args.repair:
            removed = store.repair(args.name)
            for folder in removed:
                print(f"{args.name}: rolled back {folder} (left unindexed by a publisher that died)")
            if removed and not store.versions(args.name):
                return 0  # nothing published is left to verify
        elif orphans := store.orphans(args.name):
            raise StoreError(f"{store.model_dir(args.name)}: {', '.join(orphans)} not in the index (a publisher died); "
                             "run verify --repair to roll them back")
        record = store.verify(args.name, args.version)
        print(f"{record.name} {record.label}: files match their publish-time checksums")
    return 0
