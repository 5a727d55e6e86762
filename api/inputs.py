"""What any input must respect before it reaches the domain or the database.

Every argument a resource loads goes through ``Blueprint``'s parser, which bounds
each field of the schema by its type, wherever the schema declares it:

- integers fit the column they address: 32 bits, or 64 bits for fields that say
  ``metadata={"format": "int64"}`` (ids of the BigInteger tables);
- decimals are finite and below 10^40, so no arithmetic on them explodes (the domain's
  own ranges, e.g. a quantity's maximum, answer with their own codes within it);
- text, including JSON nested in free-form fields, carries no NUL character
  (PostgreSQL text cannot hold one);
- dates and datetimes fall in the calendar years 2000-2100, so no arithmetic
  on them (offsets, month ends, day windows) can leave the calendar.

Path ids are bounded the same way by the URL converters (an id out of range
matches no route: 404), and a JSON body nested too deeply to parse is invalid
JSON (400). A new endpoint gets all of this by using ``Blueprint``.
"""
from __future__ import annotations

from decimal import Decimal

import flask_smorest
import marshmallow as ma
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import MultiDict
from werkzeug.routing import IntegerConverter, UnicodeConverter

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
FIRST_YEAR, LAST_YEAR = 2000, 2100
DECIMAL_LIMIT = Decimal(10) ** 40


def integer_bounds(field: ma.fields.Field) -> tuple[int, int]:
    """The range of the column an integer field addresses (32-bit unless it says int64)."""
    return INT64 if field.metadata.get("format") == "int64" else INT32


def _no_nul(value) -> None:
    if isinstance(value, str) and "\x00" in value:
        raise ma.ValidationError("Must not contain the NUL character.")


def _in_calendar(value) -> None:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ma.ValidationError(f"Must fall in the years {FIRST_YEAR} to {LAST_YEAR}.")


def _decimal_in_range(value: Decimal) -> None:
    if not value.is_finite() or abs(value) >= DECIMAL_LIMIT:
        raise ma.ValidationError("Must be a finite number below 10^40 in size.")


def _plain_json(value) -> None:
    """Free-form JSON (rule params, dict values): no NUL in its text, integers of at most 64 bits."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            _no_nul(item)
        elif isinstance(item, bool):
            continue
        elif isinstance(item, int) and not INT64[0] <= item <= INT64[1]:
            raise ma.ValidationError("Numbers must fit in 64 bits.")
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, (list, tuple)):
            pending.extend(item)


def _scalar_validators(field: ma.fields.Field) -> list:
    if isinstance(field, ma.fields.Integer):
        low, high = integer_bounds(field)
        return [ma.validate.Range(low, high)]
    if isinstance(field, ma.fields.Decimal):
        return [_decimal_in_range]
    if isinstance(field, ma.fields.String):
        return [_no_nul]
    if isinstance(field, (ma.fields.Date, ma.fields.DateTime)):
        return [_in_calendar]
    return []


def _harden_field(field: ma.fields.Field) -> None:
    if isinstance(field, ma.fields.Nested):
        harden(field.schema)
    elif isinstance(field, ma.fields.List):
        _harden_field(field.inner)
    elif isinstance(field, ma.fields.Tuple):
        for inner in field.tuple_fields:
            _harden_field(inner)
    elif isinstance(field, ma.fields.Mapping):
        for inner in (field.key_field, field.value_field):
            if inner is not None:
                _harden_field(inner)
        if field.key_field is None or field.value_field is None:
            _add_validators(field, [_plain_json])
    elif type(field) is ma.fields.Raw:
        _add_validators(field, [_plain_json])
    else:
        _add_validators(field, _scalar_validators(field))


def _add_validators(field: ma.fields.Field, validators: list) -> None:
    # A new list: copies of a field (one per schema instance) share the declared one.
    field.validators = [*field.validators, *validators]


def harden(schema: ma.Schema) -> ma.Schema:
    """Add the type bounds to every field of ``schema`` (once per schema instance)."""
    if not getattr(schema, "_inputs_hardened", False):
        schema._inputs_hardened = True
        for field in schema.fields.values():
            _harden_field(field)
    return schema


class Parser(FlaskParser):
    """webargs' Flask parser, bounding every field it loads and refusing JSON it cannot parse safely.

    It also reads location ``multipart``: the fields and files of one multipart/form-data
    body as one schema, so the document shows one request body with both.
    """

    __location_map__ = dict(FlaskParser.__location_map__, multipart="load_multipart")

    def load_multipart(self, req, schema):
        return self._makeproxy(MultiDict([*req.form.items(multi=True), *req.files.items(multi=True)]), schema)

    def _get_schema(self, argmap, req):
        return harden(super()._get_schema(argmap, req))

    def _raw_load_json(self, req):
        try:
            return super()._raw_load_json(req)
        except RecursionError as error:  # nested deeper than the parser can follow
            self._handle_invalid_json_error(error, req)


# Schema classes requests are loaded with (nested ones included): the document gives their
# integers the column's range; answers' integers (ids of growing tables) are not bounded there.
ARGUMENT_SCHEMAS: set[type] = set()


def _note_argument_schema(schema) -> None:
    instance = schema() if isinstance(schema, type) else schema
    if type(instance) in ARGUMENT_SCHEMAS:
        return
    ARGUMENT_SCHEMAS.add(type(instance))
    pending = list(instance.fields.values())
    while pending:
        field = pending.pop()
        if isinstance(field, ma.fields.Nested):
            _note_argument_schema(field.schema)
        pending.extend(f for f in (getattr(field, "inner", None), getattr(field, "value_field", None)) if f)


def _schema_class_of(field: ma.fields.Field) -> type | None:
    owner = field.parent
    while owner is not None and not isinstance(owner, ma.Schema):
        owner = getattr(owner, "parent", None)
    return type(owner) if owner is not None else None


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint with the bounded parser; every resource uses this one."""

    def arguments(self, schema, **kwargs):
        _note_argument_schema(schema)
        return super().arguments(schema, **kwargs)

    ARGUMENTS_PARSER = Parser()
    PAGINATION_ARGUMENTS_PARSER = Parser()
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {
        **flask_smorest.Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING, "multipart": "multipart/form-data"}

    def _document_pagination_metadata(self, spec, resp_doc):
        """X-Pagination is JSON text in a header: a string, whose content the description shows."""
        resp_doc.setdefault("headers", {})[self.PAGINATION_HEADER_NAME] = PAGINATION_HEADER


PAGINATION_HEADER = {
    "description": 'Pagination metadata as JSON text, e.g. {"total": 42, "total_pages": 3, "first_page": 1, '
                   '"last_page": 3, "page": 1, "next_page": 2}',
    "schema": {"type": "string"},
}


class IdConverter(IntegerConverter):
    """``<int:...>``: a non-negative id of a 32-bit column; larger ones match no route (404)."""

    def __init__(self, map, fixed_digits=0, min=None, max=INT32[1], signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


class Id64Converter(IntegerConverter):
    """``<id64:...>``: a non-negative id of a 64-bit (BigInteger) column."""

    def __init__(self, map, fixed_digits=0, min=None, max=INT64[1], signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


class TextConverter(UnicodeConverter):
    """Path text without NUL characters (PostgreSQL text cannot hold them)."""

    def __init__(self, map, minlength=1, maxlength=None, length=None):
        super().__init__(map, minlength=minlength, maxlength=maxlength, length=length)
        self.regex = self.regex.replace("[^/]", "[^/\\x00]")


CONVERTERS = {"default": TextConverter, "string": TextConverter, "int": IdConverter, "id64": Id64Converter}


def _id_param_schema(converter) -> dict:
    return {"type": "integer", "format": "int64" if converter.max > INT32[1] else "int32",
            "minimum": 0, "maximum": converter.max}


def register_input_bounds(app, smorest_api) -> None:
    """Install the URL converters and document the bounds; before any route is registered."""
    app.url_map.converters.update(CONVERTERS)
    for converter in (IdConverter, Id64Converter):
        smorest_api.register_converter(converter, _id_param_schema)
    smorest_api.ma_plugin.converter.add_attribute_function(_document_bounds)


def _json_number(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _document_bounds(self, field, ret, **kwargs) -> dict:
    """Integers of requests carry their column's range; numeric bounds are numbers (never Decimal strings)."""
    extra = {}
    if isinstance(field, ma.fields.Integer) and _schema_class_of(field) in ARGUMENT_SCHEMAS:
        low, high = integer_bounds(field)
        extra = {"minimum": max(ret.get("minimum", low), low), "maximum": min(ret.get("maximum", high), high)}
    for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        value = extra.get(key, ret.get(key))
        if isinstance(value, (Decimal, str)) and key in ret:
            extra[key] = _json_number(Decimal(str(value)))
    return extra

