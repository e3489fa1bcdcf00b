"""``python -m edgerank.registry``: the *model* registry CLI (publish, list, rollout, ...).

The command name is fixed by the product brief; the implementation lives in
:mod:`edgerank.modelstore` so that this package stays the light plugin registry.
"""

import sys

from edgerank.modelstore.cli import main

if __name__ == "__main__":
    sys.exit(main())
