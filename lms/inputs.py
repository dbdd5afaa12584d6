"""Outside input that must never become a 500 (issue 11, item 9), in one place for the whole app.

- Integers in URLs: ``<int:…>`` is bounded by what the databases store (PostgreSQL's bigint;
  SQLite raises OverflowError past it), so ``/media/99999999999999999999`` is a 404, not a crash.
- JSON bodies are parsed strictly, by Flask (``request.get_json``) and by the fast paths that read
  bodies themselves (``loads``): lone surrogates (``"\\ud800"``, which no database or page can
  encode), nesting deeper than ``MAX_JSON_DEPTH`` and the non-standard ``NaN``/``Infinity`` are
  refused as malformed, so the request is a 400 (a JSON error under ``/api/``).
- ``json_object()`` is the body of a JSON API that takes an object: anything else is a 400.
- A number that reaches the database out of range anyway (a form field, a query string) is a 400,
  never a 500.
"""
from __future__ import annotations

import json
from typing import Any

from flask import abort, jsonify, make_response, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import gettext as _
from werkzeug.routing import IntegerConverter

MAX_DB_INT = 2**63 - 1  # BigInteger columns: byte counts and offsets
MAX_ID = 2**31 - 1  # ids: Integer primary keys are 32-bit on PostgreSQL
MAX_JSON_DEPTH = 32


class DatabaseIntConverter(IntegerConverter):
    """``<int:…>`` that matches only what a database id can be (0 … 2^31-1, PostgreSQL's
    integer); larger is a 404 on every database."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def db_id(value) -> int | None:
    """``value`` as an id (0 … ``MAX_ID``), else None; see ``db_int``."""
    number = db_int(value)
    return number if number is not None and number <= MAX_ID else None


def db_int(value) -> int | None:
    """``value`` as an integer a BigInteger column holds (JSON ints, ASCII digit strings), else
    None. Booleans are not numbers here: ``true`` is not 1. Ids: ``db_id``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        if not (value.isascii() and value.isdigit() and len(value) <= 19):
            return None
        value = int(value)
    if isinstance(value, int) and 0 <= value <= MAX_DB_INT:
        return value
    return None


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def loads(data: str | bytes) -> Any:
    """Strict JSON: ValueError for malformed text, lone surrogates, NaN/Infinity, deep nesting."""
    if isinstance(data, (bytes, bytearray)):
        data = bytes(data).decode("utf-8")  # UnicodeDecodeError is a ValueError
    try:
        value = json.loads(data, parse_constant=_refuse_constant)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    check(value)
    return value


def check(value: Any) -> None:
    """ValueError when ``value`` (parsed JSON) nests too deeply or holds a lone surrogate."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            item.encode("utf-8")  # UnicodeEncodeError (a ValueError) on a lone surrogate
        elif isinstance(item, (list, dict)):
            if depth > MAX_JSON_DEPTH:
                raise ValueError("JSON nested too deeply")
            if isinstance(item, dict):
                for key, child in item.items():
                    key.encode("utf-8")
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)


class StrictJSONProvider(DefaultJSONProvider):
    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads(s)


def json_object() -> dict:
    """The request's JSON body, which must be an object; otherwise a 400 with a JSON error (the
    caller is a script, whatever the path), in the shape of ``lms.errors``."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        body = jsonify({"error": {"status": 400, "message": _("The request must be a JSON object.")}})
        abort(make_response(body, 400))
    return data


def _out_of_range(error):
    from lms.errors import render_error

    return render_error(400, _("A number in the request is out of range."))


def init_app(app) -> None:
    """Before any blueprint is registered: their ``<int:…>`` rules take this converter."""
    from sqlalchemy.exc import DataError

    app.url_map.converters["int"] = DatabaseIntConverter
    app.json = StrictJSONProvider(app)
    app.register_error_handler(OverflowError, _out_of_range)
    app.register_error_handler(DataError, _out_of_range)
