"""The app served over real HTTPS for the outside verifiers: a throwaway certificate authority
(trustme) signs a server certificate for localhost, and werkzeug serves the given Flask app with
it on a free port in a thread. Whoever trusts the CA's PEM file (NODE_EXTRA_CA_CERTS for Node,
an ``ssl`` context for Python) reaches it as https://localhost:<port>, which is also the app's
public address while it is served, so that the did:web and status-list URLs it hands out point
back at it."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import trustme
from flask import Flask
from werkzeug.serving import make_server

HOST = "localhost"


@dataclass(frozen=True)
class SecureServer:
    """``url`` (https://localhost:<port>, no trailing slash), the PEM file of the CA that
    signed its certificate, and the app it serves."""

    url: str
    ca_file: Path
    app: Flask

    def client_context(self) -> ssl.SSLContext:
        """An ``ssl`` context that trusts this server (and only what the CA signed)."""
        return ssl.create_default_context(cafile=str(self.ca_file))


@contextmanager
def serve_https(app: Flask, folder: Path) -> Iterator[SecureServer]:
    """Serve ``app`` over HTTPS until the block ends, with its public address set to the
    server's; the CA's PEM file is written into ``folder``. One request at a time (HTTP/1.0,
    no keep-alive): a test's database connection may be the one the app uses."""
    authority = trustme.CA()
    certificate = authority.issue_cert(HOST, "127.0.0.1")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(context)
    ca_file = folder / "test-ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))

    server = make_server("127.0.0.1", 0, app, threaded=False, ssl_context=context)
    url = f"https://{HOST}:{server.server_port}"
    saved = {key: app.config.get(key) for key in ("LCA_PUBLIC_URL", "LCA_PUBLIC_URL_SET")}
    app.config.update(LCA_PUBLIC_URL=url, LCA_PUBLIC_URL_SET=True)
    thread = threading.Thread(target=server.serve_forever, name="https-server", daemon=True)
    thread.start()
    try:
        yield SecureServer(url, ca_file, app)
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
        app.config.update(saved)
