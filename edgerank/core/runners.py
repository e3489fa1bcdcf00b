"""What every backend hands out for an exported graph: a *runner* per named signature.

A runner is the numpy-in, numpy-out call of one signature (keyword inputs, named outputs), the
same whether LiteRT, ONNX Runtime, ExecuTorch or eager PyTorch runs it, so the app loop that
drives a graph of several signatures (:mod:`edgerank.core.app_loop`) runs on the phone and in
evaluation alike. Declared here, in the numpy-only core, because the torch-free runtime uses it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

SINGLE = "forward"  # the name of a one-signature graph's signature
Runner = Callable[..., Mapping[str, np.ndarray]]  # one signature: keyword numpy inputs -> named numpy outputs
Runners = Mapping[str, Runner]
