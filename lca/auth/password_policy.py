"""The password policy: long enough, not common, not guessable from the person or the programme.

It owns the list of refused words; the demo data takes its published password from here.
"""

from __future__ import annotations

import re
from functools import cache

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select

from lca.core.dates import buddhist_year, local_today
from lca.core.db import db
from lca.core.errors import RuleError
from lca.models import City

MAX_PASSWORD_LENGTH = 256
#: zxcvbn's estimate (0 to 4) a password must reach; 3 is "safely unguessable" for an online
#: attacker and a slow hash such as Argon2id
MIN_PASSWORD_SCORE = 3
ZXCVBN_MAX_LENGTH = 72  #: zxcvbn refuses longer input; the first 72 characters decide
#: the password of the demo accounts, published in the README: refused for everyone else
DEMO_PASSWORD = "demo-pass-2569"  # noqa: S105 - documented demo accounts only


def check_password_policy(password: str, email: str | None = None, *names: str | None) -> None:
    """A password is long enough, not too long, not one of the common passwords, and not
    guessable from the person's own e-mail or names (zxcvbn's estimate, score 3 of 4 at least).
    Any characters count, Thai included; nothing else about its make-up is required."""
    minimum = current_app.config["LCA_PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        raise RuleError(
            _("Use at least %(count)d characters.", count=minimum), field="new_password"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise RuleError(
            _("Use at most %(count)d characters.", count=MAX_PASSWORD_LENGTH), field="new_password"
        )
    if password.lower() in _common_passwords():
        raise RuleError(
            _("This is one of the most common passwords. Choose another."), field="new_password"
        )
    from zxcvbn import zxcvbn  # its word lists take 14 MB: loaded when a password is checked

    personal = [part for value in (email, *names) if value for part in _personal_words(value)]
    estimate = zxcvbn(password[:ZXCVBN_MAX_LENGTH], user_inputs=personal + _context_words())
    if estimate["score"] < MIN_PASSWORD_SCORE or (email and email.lower() in password.lower()):
        raise RuleError(_("This password is too easy to guess."), field="new_password")


#: words anyone who knows the programme would try first (ASVS 5.0 V6.1.2), besides the names of
#: the learning cities and the years around now
PROGRAMME_WORDS = [
    "lca",
    "learning city",
    "learningcity",
    "city administrator",
    "cityadministrator",
    "administrator",
    "unesco",
    "gnlc",
    "นักจัดการเมือง",
    "เมืองแห่งการเรียนรู้",
    "กสศ",
    "บพท",
]


def _context_words() -> list[str]:
    year = local_today().year
    years = [str(y) for y in range(year - 2, year + 3)]
    years += [str(buddhist_year(y)) for y in range(year - 2, year + 3)]
    cities = db.session.execute(select(City.code, City.name_th, City.name_en)).all()
    names = [name.lower() for row in cities for name in row if name]
    return [*PROGRAMME_WORDS, DEMO_PASSWORD, *years, *names, *(n.replace("-", "") for n in names)]


@cache
def _common_passwords() -> frozenset[str]:
    """zxcvbn's list of the 30,000 passwords most often found in breaches."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def _personal_words(value: str) -> list[str]:
    """An e-mail or a name, and its parts: what someone who knows the person would try."""
    return [value.lower(), *(part for part in re.split(r"[@.\s_+-]+", value.lower()) if part)]
