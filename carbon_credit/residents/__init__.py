"""Residents: their accounts, transit cards, privacy requests and their own pages' figures."""
