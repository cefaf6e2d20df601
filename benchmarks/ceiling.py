"""The "ceiling": the fastest a Flask app can answer a SCIM request under the server's gunicorn settings.

It answers any method on ``/scim/v2/...`` with one fixed ~1 KB SCIM User
precomputed at import: no database, no validation, no serialisation. The
server's rate divided by the ceiling's, measured side by side on the same
machine, is a figure that does not depend on the machine's speed, which is
what the targets are written in.

Run it as the benchmark does: ``python -m benchmarks.ceiling --port 8001 --workers 2 --threads 1``
(the same options as ``scim-server serve``, the same gunicorn settings).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from flask import Flask, Response, request

USER_ID = "2819c223-7f76-453a-919d-413861904646"
USER: dict[str, Any] = {
    "schemas": [
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    ],
    "id": USER_ID,
    "externalId": "bjensen",
    "meta": {
        "resourceType": "User",
        "created": "2026-01-23T04:56:22.000Z",
        "lastModified": "2026-05-13T04:42:34.000Z",
        "version": 'W/"3694e05e9dff591"',
        "location": f"http://127.0.0.1/scim/v2/Users/{USER_ID}",
    },
    "userName": "bjensen@example.com",
    "name": {"formatted": "Ms. Barbara J Jensen III", "familyName": "Jensen", "givenName": "Barbara"},
    "displayName": "Babs Jensen",
    "title": "Tour Guide",
    "active": True,
    "emails": [
        {"value": "bjensen@example.com", "type": "work", "primary": True},
        {"value": "babs@jensen.org", "type": "home"},
    ],
    "phoneNumbers": [{"value": "555-555-8377", "type": "work"}],
    "roles": [{"value": "user", "type": "default"}],
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
        "employeeNumber": "701984",
        "costCenter": "4130",
        "organization": "Universal Studios",
        "division": "Theme Park",
        "department": "Tour Operations",
        "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "John Smith"},
    },
}
BODY = json.dumps(USER).encode()
STATUS = {"POST": 201, "DELETE": 204}
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]

app = Flask(__name__)


@app.route("/scim/v2/<path:rest>", methods=METHODS)
def answer(rest: str) -> Response:
    """The same document for every request; 201 for POST, 204 (empty) for DELETE, as the server answers."""
    status = STATUS.get(request.method, 200)
    return Response(b"" if status == 204 else BODY, status=status, content_type="application/scim+json")


@app.get("/healthz")
def healthz() -> Response:
    return Response(b"ok", content_type="text/plain")


def serve(host: str, port: int, workers: int, threads: int, timeout: int) -> None:
    """gunicorn with exactly the settings ``scim-server serve`` sets (scim_server/cli.py), so only the app differs."""
    from gunicorn.app.base import BaseApplication

    class Ceiling(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", "gthread" if threads > 1 else "sync")
            self.cfg.set("accesslog", "-")
            self.cfg.set("timeout", timeout)
            self.cfg.set("graceful_timeout", 10)

        def load(self) -> Flask:
            return app

    Ceiling().run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--timeout", type=int, default=120)
    arguments = parser.parse_args()
    serve(arguments.host, arguments.port, arguments.workers, arguments.threads, arguments.timeout)


if __name__ == "__main__":
    main()
