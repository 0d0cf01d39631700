"""Just enough of a browser for the tools, benches and tests that drive a served LCA over
HTTP: cookies, no redirects followed, one connection per request (gunicorn's sync workers close
it anyway), the hidden form fields read back, and a sign-in through the form."""

from __future__ import annotations

import http.client
import re
import urllib.parse
from http.cookies import SimpleCookie

from lca.ops.demo import DEMO_PASSWORD


class Browser:
    """Just enough of a browser: one connection per request, cookies, no redirect following."""

    def __init__(self, port: int, language: str = "en") -> None:
        self.port, self.language = port, language
        self.cookies: dict[str, str] = {}
        self.last_headers: http.client.HTTPMessage | None = None

    def request(self, method, path, form=None, *, port=None, body=None, headers=None):
        """(status, redirect path, page); ``port`` to address one app server directly."""
        connection = http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=90)
        sent = {"Connection": "close", "Accept-Language": self.language, **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if form is not None:
            body = urllib.parse.urlencode(form, doseq=True)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            content = response.read()
        finally:
            connection.close()
        self.last_headers = response.headers
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if morsel.value and morsel["max-age"] != "0":
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)
        location = response.headers.get("Location")
        if location:
            location = urllib.parse.urlsplit(location).path
        if response.headers.get_content_type().startswith("text/"):
            return response.status, location, content.decode("utf-8", "replace")
        return response.status, location, content

    @staticmethod
    def hidden(page: str, name: str) -> str:
        tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', page)
        value = re.search(r'value="([^"]*)"', tag.group(0)) if tag else None
        if value is None:
            raise RuntimeError(f"no hidden {name} input on the page")
        return value.group(1)

    def sign_in(self, email: str, password: str = DEMO_PASSWORD, port=None) -> dict[str, str]:
        """Through the form (and the privacy notice's button the first time); the hour-log
        form's tokens."""
        self.cookies.clear()
        _status, _location, page = self.request("GET", "/login", port=port)
        token = self.hidden(page, "csrf_token")
        form = {"csrf_token": token, "email": email, "password": password}
        status, location, _page = self.request("POST", "/login", form, port=port)
        if status not in (302, 303) or location == "/login":
            raise RuntimeError(f"sign-in of {email} answered {status} {location}")
        status, location, page = self.request("GET", "/hours/new", port=port)
        if status in (302, 303) and location == "/privacy":
            _s, _l, notice = self.request("GET", "/privacy?next=/hours/new", port=port)
            seen = {"csrf_token": self.hidden(notice, "csrf_token"), "next": "/hours/new"}
            self.request("POST", "/privacy/seen", seen, port=port)
            status, location, page = self.request("GET", "/hours/new", port=port)
        if status != 200:
            raise RuntimeError(f"/hours/new answered {status} {location} after signing in")
        return {
            "csrf_token": self.hidden(page, "csrf_token"),
            "enrolment_id": self.hidden(page, "enrolment_id"),
        }
