"""The cloud side as a service: model distribution, event ingestion, monitoring dashboard.

``python -m edgerank.serve --store STORE --port 8080`` serves a
:class:`~edgerank.modelstore.ModelStore` to devices (``GET /models/NAME/resolve?user=ID``, then
checksummed, ETag-cached downloads of published, verified versions), takes their batched
inference events (``POST /events``, idempotent per batch id) into the
:mod:`edgerank.monitor` store, and shows the dashboard at ``/``. The device side of it is
:class:`edgerank.runtime.ServerSource` (torch-free, standard library HTTP).
"""

from edgerank.serve.app import create_app
from edgerank.serve.server import BackgroundServer

__all__ = ["BackgroundServer", "create_app"]
