"""The pip-compile wrapper (see issue: guard requirements files)."""
