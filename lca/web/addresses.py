"""The site's public address, which links and certificates carry: LCA_PUBLIC_URL, or on a
developer's machine without it, the address the request came to (so that `flask run --port
5101` hands out links to port 5101, not 5000)."""

from __future__ import annotations

import ipaddress
from urllib.parse import quote, urlencode, urlsplit

from flask import current_app, has_request_context, request


def public_url() -> str:
    """The public base URL (no trailing slash) for links made now."""
    config = current_app.config
    unset = not config.get("LCA_PUBLIC_URL_SET")
    if config["LCA_ENV"] == "development" and unset and has_request_context():
        return request.host_url.rstrip("/")
    return str(config["LCA_PUBLIC_URL"])


def is_local(url: str) -> bool:
    """The address only reaches this machine (localhost, 127.0.0.1…): no one else can open it."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # a name other than localhost
    return address.is_loopback or address.is_unspecified


def issuing_address_problem() -> str | None:
    """Why certificates must not be issued now with today's address, or None: in production
    the address frozen into every PDF, QR code and credential must be set and public."""
    config = current_app.config
    if config["LCA_ENV"] != "production":
        return None
    if not config.get("LCA_PUBLIC_URL_SET"):
        return (
            "LCA_PUBLIC_URL is not set, so the certificates would carry "
            f"{config['LCA_PUBLIC_URL']} in their QR codes and links for good. Set it to the "
            "address people use to reach LCA (e.g. LCA_PUBLIC_URL=https://lca.example.org) and "
            "run the command again."
        )
    if is_local(str(config["LCA_PUBLIC_URL"])):
        return (
            f"LCA_PUBLIC_URL is {config['LCA_PUBLIC_URL']}, an address only this machine "
            "reaches: the certificates would carry it in their QR codes and links for good. Set "
            "it to the public address (e.g. LCA_PUBLIC_URL=https://lca.example.org) and run "
            "the command again."
        )
    return None


#: the characters a path keeps as they are (RFC 3986 pchar and "/"); all else is %-encoded
PATH_SAFE = "/:@!$&'()*+,;=-._~"


def this_page(args: list[tuple[str, str]]) -> str:
    """A link to the page of this request with ``args`` as its query: always a path on this
    site, whatever the request's path holds (a 404 page's path is the visitor's to choose).

    The path is percent-encoded (a backslash, a tab or a newline becomes %5C, %09, %0A, which
    no browser reads as a host) and starts with exactly one slash (``//host`` would be another
    site)."""
    path = "/" + quote(request.path.lstrip("/"), safe=PATH_SAFE)
    return f"{path}?{urlencode(args)}" if args else path
