"""Conversion to ``.tflite``, parity check, manifest and atomic publishing.

Kept import-light: ``edgerank.export.manifest`` is used by the torch-free runtime.
"""
