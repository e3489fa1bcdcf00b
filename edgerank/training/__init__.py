"""Lightning glue: one LightningModule per task type, metrics, baselines."""
