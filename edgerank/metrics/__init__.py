"""Metrics shared by training, export and evaluation: group AUC (a torchmetrics ``Metric``) and
the logged-label list metrics of re-ranking (numpy)."""
