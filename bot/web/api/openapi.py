"""The OpenAPI 3.1 document served at ``/api/v1/openapi.json``.

Schemas are the JSON Schemas pydantic makes of ``bot.web.api.models``; the paths are
listed here, next to nothing else, so a route added to ``routes.py`` without a line here
fails ``tests/test_api.py``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from bot.web.api.models import (
    RESPONSE_MODELS,
    AnswerPage,
    ErrorBody,
    FindingList,
    FindingOut,
    ParticipantList,
    ParticipantOut,
    RoundCreate,
    RoundList,
    RoundOut,
    RoundStarted,
)

REF = "#/components/schemas/{model}"


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _error(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": _ref(ErrorBody)}}}


def _op(summary: str, model: type[BaseModel], *, scope: str = "read", status: str = "200",
        params: list[dict[str, Any]] | None = None, body: type[BaseModel] | None = None,
        csv: bool = False, not_found: bool = False) -> dict[str, Any]:
    content: dict[str, Any] = {"application/json": {"schema": _ref(model)}}
    if csv:
        content["text/csv"] = {"schema": {"type": "string"}}
    responses: dict[str, Any] = {
        status: {"description": "OK", "content": content},
        "401": _error("no token, or an unknown or revoked one"),
        "403": _error(f"the token's scope is not '{scope}'"),
        "422": _error("invalid input")}
    if not_found:
        responses["404"] = _error("not found")
    op: dict[str, Any] = {"summary": summary, "responses": responses,
                          "security": [{"bearer": []}],
                          "description": f"Needs a token with scope '{scope}'."}
    if params:
        op["parameters"] = params
    if body is not None:
        op["requestBody"] = {"required": True,
                             "content": {"application/json": {"schema": _ref(body)}}}
    return op


def _path_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema}


PEOPLE_PARAMS = [
    _query("since", "next_since of the previous page (absent: the first page)",
           {"type": "string"}),
    _query("limit", "participants per page", {"type": "integer", "minimum": 1,
                                              "maximum": 1000, "default": 500}),
]
ANSWER_PARAMS = [
    _query("since", "next_since of the previous page (absent: from the first answer)",
           {"type": "string"}),
    _query("limit", "answers per page", {"type": "integer", "minimum": 1, "maximum": 1000,
                                         "default": 100}),
    _query("format", "json, or csv (then next_since and has_more are the headers "
           "X-Parley-Next-Since and X-Parley-Has-More)",
           {"type": "string", "enum": ["json", "csv"], "default": "json"}),
    _query("flow", "only this flow's answers", {"type": "string"}),
    _query("round", "only this round's answers", {"type": "string"}),
]


def paths() -> dict[str, Any]:
    return {
        "/participants": {"get": _op("Participants (contact details masked for a read "
                                     "token), a page at a time in id order", ParticipantList,
                                     params=PEOPLE_PARAMS)},
        "/participants/{pid}": {"parameters": [_path_param("pid")],
                                "get": _op("One participant", ParticipantOut,
                                           not_found=True)},
        "/rounds": {"get": _op("Rounds and their progress", RoundList),
                    "post": _op("Create a draft round (as parley rounds create)", RoundOut,
                                scope="write", status="201", body=RoundCreate)},
        "/rounds/{rid}": {"parameters": [_path_param("rid")],
                          "get": _op("One round's progress (as parley rounds status)",
                                     RoundOut, not_found=True)},
        "/rounds/{rid}/start": {"parameters": [_path_param("rid")],
                                "post": _op("Start a draft round (as parley rounds start)",
                                            RoundStarted, scope="write", not_found=True)},
        "/answers": {"get": _op("Answers, oldest first, a page at a time", AnswerPage,
                                params=ANSWER_PARAMS, csv=True)},
        "/findings": {"get": _op("Findings (every version)", FindingList)},
        "/findings/{fid}": {"parameters": [_path_param("fid")],
                            "get": _op("One finding version", FindingOut, not_found=True)},
    }


def document(public_url: str = "") -> dict[str, Any]:
    """The whole OpenAPI 3.1 document; ``servers`` points at ``public_url`` when set."""
    _, schemas = models_json_schema([(m, "serialization") for m in RESPONSE_MODELS
                                     if m is not RoundCreate] + [(RoundCreate, "validation")],
                                    ref_template=REF)
    base = public_url.rstrip("/")
    return {
        "openapi": "3.1.0",
        "info": {"title": "Parley API", "version": "1",
                 "description": "Bearer tokens come from `parley tokens create --name N "
                                "--scope read|write`."},
        "servers": [{"url": f"{base}/api/v1" if base else "/api/v1"}],
        "paths": paths(),
        "components": {"schemas": schemas.get("$defs", {}),
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
