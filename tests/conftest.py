"""Suite-wide isolation that every test needs and none should have to remember."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _private_http_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The index client's on-disk cache goes to a fresh directory, never the user's ~/.cache."""
    path = tmp_path_factory.mktemp("http-cache")
    monkeypatch.setenv("PINWARDEN_CACHE_DIR", str(path))
    return path
