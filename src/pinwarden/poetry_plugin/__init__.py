"""The Poetry plugin (see issue: guard poetry.lock writes and installs)."""
