"""edgerank-dcn: an example third-party model plugin, DCN-v2 for short-video re-ranking.

Registers the model ``dcn_v2`` (see :class:`DCNv2`). Installing the distribution is all it
takes: the ``edgerank.plugins`` entry point imports this module (running the decorator), the
``edgerank.configs`` entry point puts ``conf/model/dcn_v2.yaml`` on Hydra's search path::

    pip install -e plugins/edgerank-dcn
    python -m edgerank +experiment=video_rerank model=dcn_v2

Only edgerank's public plugin API is imported (:mod:`edgerank.models.api`: registration,
option checks, ``VideoEncoder``, the target attention, ``TaskHeads``, ``VideoRerankNet``,
``mlp``), so the plugin keeps working while edgerank's own models change.
"""

from __future__ import annotations

from edgerank_dcn.model import CrossNetwork, DCNv2, DCNv2Options

__all__ = ["CrossNetwork", "DCNv2", "DCNv2Options"]
__version__ = "0.1.0"
