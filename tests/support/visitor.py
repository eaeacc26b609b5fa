"""A browser's share of the dashboard's work for the Chalice test client: a cookie jar, forms posted and files
uploaded as a browser sends them, the CSRF tokens read from the pages, and the sign-in and new-event forms.

The Chalice test client keeps no cookies, so ``Visitor`` keeps a jar and sends it as a ``Cookie`` header, as a
browser would.
"""

from __future__ import annotations

import html
import re
import uuid
from typing import Any

from tests.support.data import EVENT_FORM


class Visitor:
    """A browser's share of the work: a cookie jar, and the forms' CSRF tokens read from the pages."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.jar: dict[str, str] = {}
        self.set_cookies: list[str] = []

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = dict(extra or {})
        if self.jar:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.jar.items())
        return headers

    def _keep(self, response: Any) -> Any:
        raw = next((v for k, v in response.headers.items() if k.lower() == "set-cookie"), [])
        self.set_cookies = raw if isinstance(raw, list) else [raw]
        for line in self.set_cookies:
            name, _, rest = line.partition("=")
            value = rest.split(";", 1)[0]
            if "Max-Age=0" in line:
                self.jar.pop(name, None)
            else:
                self.jar[name] = value
        return response

    def get(self, path: str) -> Any:
        return self._keep(self.client.http.get(path, headers=self._headers()))

    def post(self, path: str, fields: dict[str, Any] | list[tuple[str, str]]) -> Any:
        from urllib.parse import urlencode

        body = urlencode(fields, doseq=True).encode()
        headers = self._headers({"Content-Type": "application/x-www-form-urlencoded"})
        return self._keep(self.client.http.post(path, headers=headers, body=body))

    def upload(self, path: str, fields: dict[str, str], filename: str, content: bytes, *, confirm: bool = True) -> Any:
        """Upload a list; with ``confirm``, also press "Import" on the mapping step as it was pre-filled."""
        response = self.upload_only(path, fields, filename, content)
        if confirm and response.status_code == 200 and "/participants/mapped" in page_text(response):
            return self.confirm_mapping(response)
        return response

    def confirm_mapping(self, response: Any, changes: dict[str, str] | None = None) -> Any:
        """Post the mapping step's form with its selects as shown, but for ``changes`` (``col-N`` to a field)."""
        text = page_text(response)
        action = re.search(r'<form method="post" action="([^"]*/participants/mapped)"', text)
        assert action, text
        form = text[action.start() : text.index("</form>", action.start())]
        fields: dict[str, str] = {
            "csrf": re.search(r'name="csrf" value="([^"]+)"', form).group(1),  # type: ignore[union-attr]
            "state": re.search(r'name="state" value="([^"]+)"', form).group(1),  # type: ignore[union-attr]
        }
        for select in re.finditer(r'<select id="[^"]+" name="(col-\d+)"[^>]*>(.*?)</select>', form, re.S):
            chosen = re.search(r'<option value="([^"]*)" selected>', select.group(2))
            fields[select.group(1)] = chosen.group(1) if chosen else ""
        fields.update(changes or {})
        return self.post(action.group(1), fields)

    def upload_only(self, path: str, fields: dict[str, str], filename: str, content: bytes) -> Any:
        boundary = "----dashboard" + uuid.uuid4().hex
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            for name, value in fields.items()
        ]
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="csv"; filename="{filename}"\r\n'
            "Content-Type: text/csv\r\n\r\n".encode()
            + content
            + b"\r\n"
        )
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        headers = self._headers({"Content-Type": f"multipart/form-data; boundary={boundary}"})
        return self._keep(self.client.http.post(path, headers=headers, body=body))

    def cookie_line(self, name: str) -> str:
        return next(line for line in self.set_cookies if line.startswith(name + "="))


def page_text(response: Any) -> str:
    text = response.body.decode() if isinstance(response.body, bytes) else str(response.body)
    return html.unescape(text)


def csrf_for(response: Any, action: str) -> str:
    found = re.search(
        r'action="' + re.escape(action) + r'"[^>]*>\s*<input type="hidden" name="csrf" value="([^"]+)"',
        page_text(response),
    )
    assert found, f"no form for {action}"
    return found.group(1)


def sign_in(visitor: Visitor, email: str, password: str) -> Any:
    form = visitor.get("/dashboard")
    assert form.status_code == 200
    token = csrf_for(form, "/dashboard/sign-in")
    return visitor.post("/dashboard/sign-in", {"csrf": token, "email": email, "password": password, "next": ""})


def create_event(admin: Visitor, title: str = "Dialogue on Migration") -> str:
    form = admin.get("/dashboard/events/new")
    assert form.status_code == 200
    r = admin.post(
        "/dashboard/events",
        {
            **EVENT_FORM,
            "csrf": csrf_for(form, "/dashboard/events"),
            "title": title,
        },
    )
    assert r.status_code == 303, page_text(r)
    found = re.search(r"/dashboard/events/(ev_[0-9a-f]+)\?notice=event-created$", r.headers["Location"])
    assert found, r.headers["Location"]
    return found.group(1)
