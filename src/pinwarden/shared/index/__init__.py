"""Package indexes: pure parsers of simple-API pages (simple.py) and a thin HTTP client (fetch.py)."""

from __future__ import annotations

from .simple import IndexFile, files_of_version, parse_html_page, parse_json_page, parse_project_page

__all__ = ["IndexFile", "files_of_version", "parse_html_page", "parse_json_page", "parse_project_page"]
