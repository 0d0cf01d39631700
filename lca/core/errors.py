"""The error a rule of the programme raises when it refuses an action."""

from __future__ import annotations


class RuleError(Exception):
    """A rule of the programme refused an action; the message is for the user, translated."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field  #: the form field the message belongs next to, if any

    def __str__(self) -> str:
        return str(self.message)


class RuleErrors(RuleError):
    """Several rules refused at once, so that a person sees every problem in one go; each
    message goes next to its own field."""

    def __init__(self, errors: list[RuleError]):
        super().__init__(" ".join(str(error.message) for error in errors), errors[0].field)
        self.errors = errors
