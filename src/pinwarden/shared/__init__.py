"""The pure core: models, ledger, lock readers, comparison, rendering."""
