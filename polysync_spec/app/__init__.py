"""Use cases that cross layers: the engine, the ledger and the providers together."""
