"""Marshmallow schemas of the HTTP API: separate ones for query args, bodies and responses."""
