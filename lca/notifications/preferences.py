"""What optional messages a person gets, and the one-click unsubscribe links that need no
sign-in: signed with the app's secret, one per person and topic."""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app

#: topic of the unsubscribe link → the user's column that keeps the choice
TOPICS = {"reminders": "wants_reminders", "digests": "wants_digests"}


def unsubscribe_token(user_id: int, topic: str) -> str:
    """The signature of an unsubscribe link for this person and topic."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, f"unsubscribe:{user_id}:{topic}".encode(), hashlib.sha256).hexdigest()


def unsubscribe_token_matches(user_id: int, topic: str, token: str) -> bool:
    """Whether a link's signature is this person's for this topic (in constant time)."""
    expected = unsubscribe_token(user_id, topic).encode()
    return topic in TOPICS and hmac.compare_digest(expected, token.encode("utf-8", "replace"))
