"""Scenario data: generators, loaders, feature encoders and datamodules."""
