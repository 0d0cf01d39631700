"""The request-side Flask extensions, created unbound; ``create_app`` binds them to an app."""

from typing import Any

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf import CSRFProtect


class CheckedLoginManager(LoginManager):
    """Flask-Login, reading only a remember-me cookie that could be one LCA wrote (printable
    ASCII, a token and its digest): any other value (garbage, a wrong signature in other
    letters, a huge one) means the visitor is not signed in. Flask-Login 0.6 compares the
    digest with ``hmac.compare_digest`` on text, which raises on non-ASCII letters."""

    def _load_user_from_remember_cookie(self, cookie: str) -> Any:
        if not isinstance(cookie, str) or len(cookie) > 300:
            return None
        if not cookie.isascii() or not cookie.isprintable() or " " in cookie:
            return None
        return super()._load_user_from_remember_cookie(cookie)


login_manager = CheckedLoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
