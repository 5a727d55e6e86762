"""The host's database as this face reaches it: Flask-SQLAlchemy's extension on the current application."""
from flask import current_app
from werkzeug.local import LocalProxy

db = LocalProxy(lambda: current_app.extensions["sqlalchemy"])
