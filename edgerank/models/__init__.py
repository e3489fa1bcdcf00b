"""Registered model plugins. Each is a plain ``nn.Module`` (what Lightning trains) with an
``on_device()`` method returning the graph that is converted to ``.tflite`` (an
:class:`edgerank.graph.OnDeviceGraph`)."""
