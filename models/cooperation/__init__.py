"""The cooperation world: humans and AIs with hashed IDs, wallets, reputation and votes on a ledger."""
