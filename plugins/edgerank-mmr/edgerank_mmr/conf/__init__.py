"""Hydra config group files of edgerank-mmr (a package so that ``pkg://edgerank_mmr.conf`` resolves).

Hydra imports this package before reading ``ranker/mmr.yaml``, so it stores the defaults that
file extends (``options/MMROptions``): the options are declared once, in :class:`MMROptions`.
"""

from edgerank.rankers.api import store_defaults
from edgerank_mmr.ranker import MMROptions

store_defaults("ranker", MMROptions)
