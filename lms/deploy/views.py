"""``GET /healthz`` (JSON; 200 when every check is ok, 503 otherwise)."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from lms.extensions import csrf, limiter

from . import health

bp = Blueprint("deploy", __name__)


@bp.get("/healthz")
@limiter.exempt
@csrf.exempt
def healthz():
    names = health.WEB_CHECKS if request.args.get("for") == "web" else health.CHECKS
    body, ok = health.health(names)
    response = jsonify(body)
    response.status_code = 200 if ok else 503
    response.headers["Cache-Control"] = "no-store"
    return response
