"""Hydra config group files of edgerank-mmr (a package so that ``pkg://edgerank_mmr.conf`` resolves)."""
