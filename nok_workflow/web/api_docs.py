"""The API's description for a signed-in coordinator: /openapi.json (the schema of the
/api/v1 routes only) and /docs, a page rendered here from that schema. Swagger UI is not an
option: its scripts come from a CDN, and the Content-Security-Policy allows this server only."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute, iter_route_contexts

from nok_workflow.store.models import Account
from nok_workflow.web.auth import coordinator, ctx, current_account
from nok_workflow.web.pages import render

router = APIRouter()
PREFIX = "/api/v1"
TITLE = "nok-workflow API"
DESCRIPTION = ("API для других систем (сайт школы, анкетирование оператора): обязательства, передача "
               "подтверждающих документов, проверка и снятие. Каждый запрос несёт API-токен в заголовке "
               "Authorization: Bearer <токен>; токен выдаёт координатор командой nok token create.")
TYPES = {"string": "строка", "integer": "целое число", "number": "число", "boolean": "true/false",
         "object": "объект", "null": "null"}
PLACES = {"query": "в адресе", "path": "в пути", "header": "заголовок"}


def schema(request: Request) -> dict[str, Any]:
    app = request.app
    if getattr(app.state, "api_schema", None) is None:
        # Routes of included routers come as contexts that carry their full path.
        routes = [r for r in iter_route_contexts(app.routes)
                  if isinstance(r.original_route, APIRoute) and (r.path or "").startswith(PREFIX)]
        app.state.api_schema = get_openapi(title=TITLE, version="1", description=DESCRIPTION, routes=routes)
    return app.state.api_schema


@router.get("/openapi.json", include_in_schema=False)
def openapi_json(request: Request) -> Response:
    if current_account(request) is None:
        return JSONResponse({"error": "Нужен вход", "detail": "Описание API доступно координатору после входа.",
                             "hint": "Войдите на странице /login."}, status_code=401)
    return JSONResponse(schema(request))


@router.get("/docs", include_in_schema=False)
def docs(request: Request, account: Account = Depends(coordinator)) -> Response:
    spec = schema(request)
    base = ctx(request).settings.base_url.rstrip("/")
    return render(request, "api_docs.html", title=TITLE, description=DESCRIPTION, base=base,
                  operations=operations(spec, base), account=account)


# --- the schema, read for people ----------------------------------------------------------

def _resolve(node: dict, spec: dict) -> dict:
    while "$ref" in node:
        node = spec["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def type_of(node: dict, spec: dict) -> str:
    node = _resolve(node, spec)
    if "anyOf" in node:
        return " или ".join(type_of(n, spec) for n in node["anyOf"])
    kind = node.get("type")
    if kind == "array":
        return f"список ({type_of(node.get('items', {}), spec)})"
    if kind == "string" and (node.get("format") == "binary" or "contentMediaType" in node):
        return "файл"
    return TYPES.get(kind, kind or "—")


def _limits(node: dict) -> str:
    found = {k: v for n in [node, *node.get("anyOf", [])] for k, v in n.items()
             if k in ("maxLength", "minimum", "maximum")}
    words = {"maxLength": "до {} символов", "minimum": "от {}", "maximum": "до {}"}
    parts = [words[k].format(v) for k, v in found.items()]
    if node.get("default") is not None:
        parts.append(f"по умолчанию {node['default']}")
    return ", ".join(parts)


def fields(node: dict, spec: dict) -> list[dict[str, Any]]:
    """The properties of an object schema (or of a list's items) as rows."""
    node = _resolve(node, spec)
    if node.get("type") == "array":
        node = _resolve(node.get("items", {}), spec)
    required = set(node.get("required", []))
    return [{"name": name, "type": type_of(prop, spec), "required": name in required,
             "description": prop.get("description", ""),
             "limits": _limits(prop), "nested": fields(prop, spec) if _nested(prop, spec) else []}
            for name, prop in node.get("properties", {}).items()]


def _nested(prop: dict, spec: dict) -> bool:
    node = _resolve(prop, spec)
    if node.get("type") == "array":
        node = _resolve(node.get("items", {}), spec)
    return "properties" in node


def operations(spec: dict, base: str) -> list[dict[str, Any]]:
    result = []
    for path, methods in spec.get("paths", {}).items():
        for method, op in methods.items():
            content = op.get("requestBody", {}).get("content", {})
            media, body = next(iter(content.items()), (None, None))
            result.append({
                "method": method.upper(), "path": path, "summary": op.get("summary", ""),
                "description": op.get("description", ""),
                "parameters": [{"name": p["name"], "place": PLACES.get(p["in"], p["in"]),
                                "required": p.get("required", False), "type": type_of(p.get("schema", {}), spec),
                                "description": p.get("description") or p.get("schema", {}).get("description", ""),
                                "limits": _limits(p.get("schema", {}))}
                               for p in op.get("parameters", [])],
                "body_type": media, "body": fields(body["schema"], spec) if body else [],
                "responses": [{"code": code, "description": r.get("description", ""),
                               "fields": fields(next(iter(r["content"].values()))["schema"], spec)
                               if r.get("content") else []}
                              for code, r in op.get("responses", {}).items()],
                "example": example(method.upper(), path, base),
            })
    return result


def example(method: str, path: str, base: str) -> str:
    auth = 'curl -H "Authorization: Bearer $NOK_TOKEN"'
    json = '-H "Content-Type: application/json"'
    samples = {
        ("GET", "/api/v1/plans"): f"{auth} {base}/api/v1/plans",
        ("GET", "/api/v1/obligations"): f'{auth} "{base}/api/v1/obligations?status=overdue&limit=50"',
        ("POST", "/api/v1/evidence"): (f"{auth} -F item=I.1 -F file=@протокол.pdf -F document_date=20.09.2024 "
                                       f"{base}/api/v1/evidence\n\n# только ссылка на публикацию:\n"
                                       f"{auth} -F item=II.6 -F url=https://school12.example.org/noko "
                                       f"{base}/api/v1/evidence"),
        ("POST", "/api/v1/evidence/{evidence_id}/review"): (
            f"{auth} {json} -d '{{\"accept\": false, \"reason\": \"нет подписи председателя\"}}' "
            f"{base}/api/v1/evidence/12/review"),
        ("POST", "/api/v1/drafts"): f"{auth} -F file=@plan-2025.docx {base}/api/v1/drafts",
        ("POST", "/api/v1/drafts/{draft_id}/rows/{row}"): (
            f"{auth} {json} -d '{{\"deadline\": \"до 15 марта 2025 г.\"}}' {base}/api/v1/drafts/<id>/rows/r3"),
        ("POST", "/api/v1/drafts/{draft_id}/apply"): (
            f"{auth} {json} -d '{{\"base\": 1}}' {base}/api/v1/drafts/<id>/apply"),
        ("POST", "/api/v1/waive"): (
            f"{auth} {json} -d '{{\"plan\": \"orenburg-raion-2024\", \"item\": \"II.6\", "
            f"\"reason\": \"сайт переносится на другой домен\"}}' {base}/api/v1/waive"),
        ("GET", "/api/v1/directory"): f'{auth} "{base}/api/v1/directory?q=школа&limit=50"',
        ("GET", "/api/v1/directory/missing"): f"{auth} {base}/api/v1/directory/missing",
        ("POST", "/api/v1/directory/email"): (
            f"{auth} {json} -d '{{\"id\": \"sch-12\", \"email\": \"school12@example.org\"}}' "
            f"{base}/api/v1/directory/email"),
        ("POST", "/api/v1/directory/import/preview"): (
            f"{auth} -F file=@организации.xlsx {base}/api/v1/directory/import/preview"),
        ("POST", "/api/v1/directory/import/apply"): (
            f"{auth} -F file=@организации.xlsx {base}/api/v1/directory/import/apply"),
    }
    return samples.get((method, path), f"{auth} -X {method} {base}{path}")
