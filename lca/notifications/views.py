"""The pages of messages: the list in the app, the choices of what to get, one-click
unsubscribe."""

from __future__ import annotations

from lca.notifications import bp  # noqa: F401 - the routes below attach to it
