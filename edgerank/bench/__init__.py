"""``python -m edgerank.bench RUN_DIR``: latency, size and memory of an exported run.

See :mod:`edgerank.bench.core` for what is measured and how.
"""
