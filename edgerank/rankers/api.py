"""The public API for ranker plugins: everything a ranker needs from edgerank, in one import.

A plugin (``plugins/edgerank-mmr``, and the guide's ``patience`` in ``plugins/README.md``)
imports only from here, so edgerank's own rankers can change without breaking it:

- **registration**: :func:`register_ranker`, and :func:`store_defaults` for the options
  dataclass (its defaults become the ``defaults:`` entry the plugin's YAML extends);
- **the base**: :class:`Ranker` (implement ``search`` and ``evaluations``), the
  :class:`SearchResult` it returns, :class:`RankerOptions` (``list_size``, ``alpha``, ``beta``)
  to extend, and the :class:`ContextScorer` a ranker runs over;
- **search helpers**: :data:`BLOCKED` (the key of a candidate that cannot be placed),
  :func:`tie_margin` (the smallest gap between the best two keys, which the parity check uses
  to tell a near tie from a divergence), and the task indices of the scorer's probabilities;
- **option checks** that raise ``ConfigError(key, ...)``, reported under the key the user wrote.
"""

from __future__ import annotations

from edgerank.config_values import in_range, non_negative, one_of, positive_int, positive_number
from edgerank.core.app_loop import BLOCKED
from edgerank.core.list_reward import EFFECTIVE_VIEW, HAS_NEXT, LIKE
from edgerank.errors import ConfigError
from edgerank.models.scorer import ContextScorer
from edgerank.rankers.base import Ranker, SearchResult
from edgerank.rankers.options import RankerOptions
from edgerank.rankers.search import tie_margin
from edgerank.registry import register_ranker
from edgerank.registry.defaults import store_defaults

__all__ = [
    "BLOCKED", "EFFECTIVE_VIEW", "HAS_NEXT", "LIKE", "ConfigError", "ContextScorer", "Ranker", "RankerOptions",
    "SearchResult", "in_range", "non_negative", "one_of", "positive_int", "positive_number", "register_ranker",
    "store_defaults", "tie_margin",
]
