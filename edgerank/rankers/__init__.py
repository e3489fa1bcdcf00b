"""Rankers: turn per-candidate model scores into the list the user sees.

Registered as ``ranker`` plugins. Each works on a :class:`~edgerank.models.scorer.ContextScorer`
(a model that scores every candidate given the partial list) and is exported with the model
into one ``.tflite`` file.
"""
