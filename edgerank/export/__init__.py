"""Conversion to ``.tflite``, parity check, manifest and atomic publishing.

The manifest itself lives in the numpy-only core (:mod:`edgerank.core.manifest`), shared with
the runtime and the model store.
"""
