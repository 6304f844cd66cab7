"""``report.json`` (the source of truth) and what is rendered from it."""

from edgecompress.report.schema import REPORT_SCHEMA_VERSION, Report

__all__ = ["REPORT_SCHEMA_VERSION", "Report"]
