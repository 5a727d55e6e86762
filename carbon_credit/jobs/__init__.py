"""Scheduled jobs' shared machinery: one runner per job at a time across processes."""
