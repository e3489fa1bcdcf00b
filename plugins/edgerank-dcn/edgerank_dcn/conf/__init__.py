"""Hydra config group files of edgerank-dcn (a package so that ``pkg://edgerank_dcn.conf`` resolves)."""
