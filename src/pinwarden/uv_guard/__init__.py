"""`pinwarden uv ...`: uv, with every new uv.lock reviewed against the ledger before it is written."""
