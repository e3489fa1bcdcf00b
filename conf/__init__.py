"""edgerank's Hydra configs (installed as ``edgerank.conf``).

Hydra imports this package before it reads a file from it (``pkg://edgerank.conf``, and
``initialize_config_module("edgerank.conf")`` in tests), which is when the plugins' option
dataclasses must be in Hydra's ConfigStore: ``ranker/beam.yaml`` extends ``BeamOptions``.
"""

import edgerank.rankers.options  # noqa: F401  (stores the rankers' option defaults)
import edgerank.data.video_synthetic_options  # noqa: F401  (stores the video_synthetic option defaults)
import edgerank.data.choice_options  # noqa: F401  (stores the product_synthetic and csv option defaults)
import edgerank.data.video_log_options  # noqa: F401  (stores the video_log and kuairand option defaults)
import edgerank.models.options  # noqa: F401  (stores the built-in models' option defaults)
