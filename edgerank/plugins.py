"""``python -m edgerank.plugins``: list every registered plugin by kind."""

from __future__ import annotations

import sys

from edgerank.errors import reports_errors
from edgerank.registry import Registry, load_plugins


def format_plugins(registry: Registry) -> str:
    rows = [(p.kind, p.name, p.package, p.description) for p in registry.plugins()]
    if not rows:
        return "no plugins registered"
    widths = [max(len(r[i]) for r in rows + [("kind", "name", "package", "")]) for i in range(3)]
    lines = []
    for kind in registry.kinds():
        lines.append(f"{kind}:")
        for _, name, package, description in (r for r in rows if r[0] == kind):
            lines.append(f"  {name:<{widths[1]}}  {package:<{widths[2]}}  {description}")
    return "\n".join(lines)


@reports_errors("edgerank")
def main() -> int:
    print(format_plugins(load_plugins()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
