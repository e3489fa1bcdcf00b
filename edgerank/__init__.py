"""edgerank: a research framework for on-device (edge) recommendation."""

__version__ = "0.1.0"
