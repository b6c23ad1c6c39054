"""pinwarden: trust on first use for Python dependency hashes."""

__version__ = "0.1.0"
