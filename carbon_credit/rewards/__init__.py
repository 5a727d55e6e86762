"""Rewards: the catalogue, redemptions and vouchers."""
