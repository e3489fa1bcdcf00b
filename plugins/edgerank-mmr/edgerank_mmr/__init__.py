"""edgerank-mmr: an example third-party ranker plugin, maximal marginal relevance over categories.

Registers the ranker ``mmr`` (see :class:`MMRRanker`). The ``edgerank.plugins`` entry point
imports this module (running the decorator); the ``edgerank.configs`` entry point puts
``conf/ranker/mmr.yaml`` on Hydra's search path::

    pip install -e plugins/edgerank-mmr
    python -m edgerank +experiment=video_rerank ranker=mmr
"""

from __future__ import annotations

from edgerank_mmr.ranker import MMRRanker

__all__ = ["MMRRanker"]
__version__ = "0.1.0"
