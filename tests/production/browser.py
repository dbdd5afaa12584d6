"""A person's HTTP client for the production tests: cookies, the page's CSRF token, no redirects.

Each request opens its own connection to nginx, so nginx chooses a web host for every request
(round robin over both), as it does for the many terminals of a village.
"""
from __future__ import annotations

import http.client
import json
import re
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name, default)


@dataclass
class Browser:
    base: str
    agent: str = "Mozilla/5.0 (X11; Linux x86_64) xiangxue-production-test"
    cookies: dict[str, str] = field(default_factory=dict)
    csrf: str | None = None

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
                timeout: float = 60) -> Response:
        parts = urlsplit(self.base)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        sent = {"User-Agent": self.agent, "Accept-Language": "zh-CN,zh;q=0.9", **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            conn.request(method, path, body=body, headers=sent)
            raw = conn.getresponse()
            response = Response(raw.status, raw.headers, raw.read())
        finally:
            conn.close()
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            value = rest.split(";", 1)[0]
            if value == "" or "expires=thu, 01 jan 1970" in cookie.lower():
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        if response.header("Content-Type", "").startswith("text/html"):
            match = CSRF.search(response.text)
            if match:
                self.csrf = match.group(1)
        return response

    def get(self, path: str, **kwargs) -> Response:
        return self.request("GET", path, **kwargs)

    def post_form(self, path: str, data: dict) -> Response:
        if self.csrf is None:
            self.get(path)
        body = urlencode({"csrf_token": self.csrf, **data}).encode()
        return self.request("POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"})

    def post_json(self, path: str, payload, method: str = "POST", timeout: float = 60) -> Response:
        return self.request(method, path, json.dumps(payload).encode(),
                            {"Content-Type": "application/json", "X-CSRFToken": self.csrf or ""}, timeout=timeout)

    def sign_in_staff(self, username: str, password: str) -> Response:
        self.get("/signin/staff")
        return self.post_form("/signin/staff", {"username": username, "password": password})

    def sign_in_learner(self, identifier: str, pin: str) -> Response:
        self.get("/signin")
        return self.post_form("/signin", {"identifier": identifier, "pin": pin})
