"""The points ledger: earn lots, spending oldest first, expiry, and a resident's statement."""
