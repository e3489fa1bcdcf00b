"""Monitoring of on-device inference: an embedded event log and per-version summaries.

Torch-free (standard library + numpy; matplotlib only for ``plot``), because the app-side
runtime writes to it. ``python -m edgerank.monitor summary|plot`` reads it.
"""

from edgerank.monitor.events import Event, EventLog, MonitorError
from edgerank.monitor.summary import VersionSummary, format_summary, summarize

__all__ = ["Event", "EventLog", "MonitorError", "VersionSummary", "format_summary", "summarize"]
