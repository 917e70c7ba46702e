"""Connection targets parsed once: libpq gets the whole conninfo, everything else a label without secrets.

Redaction works on libpq's own parse (``conninfo_to_dict``), never on a pattern over the text. A URL that
libpq would misread (an unencoded ``/`` or ``@`` in the password: libpq then takes part of it for a host,
a port or a database, and echoes that part in its errors) or cannot read (a space, a stray ``%``) is
refused before anything connects, with a message that shows no part of it and says to percent-encode.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

from psycopg import ProgrammingError
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from workbench.errors import WorkbenchError

URL_SCHEMES = ("postgresql://", "postgres://")
SECRETS = frozenset({"password", "sslpassword"})  # conninfo keys whose values are never shown
_SHOWN_FIRST = ("host", "port", "user", "dbname")
_HIDDEN = "***"
_MIN_SCRUBBED = 4  # shorter secrets occur in any text by chance: replacing them would garble, not hide
_URL_FIX = ("percent-encode every special character of the user name and password (/ # ? @ : % space and "
            "quotes), e.g. with urllib.parse.quote(password, safe=''); or give a key=value conninfo "
            "(password='...'), or set PGPASSWORD or a ~/.pgpass file instead")


class ConnInfo:
    """A parsed libpq connection target. ``str()`` and ``repr()`` give :attr:`label`, which holds no secret;
    only :meth:`conninfo` (for libpq, never to show) holds the password."""

    __slots__ = ("_params", "label")

    def __init__(self, params: Mapping[str, str]):
        self._params = {key: str(value) for key, value in params.items() if value is not None}
        shown = {key: self._params[key] for key in _SHOWN_FIRST if key in self._params}
        shown |= {key: value for key, value in sorted(self._params.items()) if key not in SECRETS}
        self.label = make_conninfo("", **shown) or "(libpq defaults)"

    @classmethod
    def parse(cls, text: str) -> ConnInfo:
        """Parse a URL or ``key=value`` conninfo, or refuse it without showing any part of it."""
        if text.startswith(URL_SCHEMES):
            _check_url(text)
        try:
            return cls(conninfo_to_dict(text))
        except ProgrammingError as error:  # libpq's message quotes the unreadable part: never shown
            raise _unreadable(text, _reason(str(error))) from None

    def conninfo(self, **changes: str | int) -> str:
        """The libpq string (holding the password: for connecting only, never to show)."""
        return make_conninfo("", **{**self._params, **{key: str(value) for key, value in changes.items()}})

    def replace(self, **changes: str | int) -> ConnInfo:
        return ConnInfo({**self._params, **{key: str(value) for key, value in changes.items()}})

    def get(self, key: str) -> str | None:
        """A parameter's value; None for a secret (they are only for libpq)."""
        return None if key in SECRETS else self._params.get(key)

    def scrub(self, text: str) -> str:
        """``text`` (e.g. an error from libpq or the server) with this target's secrets replaced by ``***``."""
        for key in SECRETS:
            secret = self._params.get(key, "")
            if len(secret) >= _MIN_SCRUBBED:
                for form in dict.fromkeys((secret, quote(secret, safe=""), quote(secret))):
                    text = text.replace(form, _HIDDEN)
        return text

    def __str__(self) -> str:
        return self.label

    def __repr__(self) -> str:
        return f"<ConnInfo {self.label}>"


def shown(text: str) -> str:
    """``text`` safe to show: a whole connection target becomes its label (``hidden`` when unreadable)."""
    if text.startswith(URL_SCHEMES):
        try:
            return ConnInfo.parse(text).label
        except WorkbenchError:
            return hidden(text)
    if any(scheme in text for scheme in URL_SCHEMES):  # a URL inside other text: nothing of it is shown
        return hidden(text)
    if "=" not in text:
        return text
    try:
        params = conninfo_to_dict(text)
    except ProgrammingError:
        return hidden(text) if any(key in text.lower() for key in SECRETS) else text
    return ConnInfo(params).label if set(params) & SECRETS else text


def hidden(text: str) -> str:
    """What may be shown of a string that might hold a password but cannot be parsed: its scheme at most."""
    scheme, separator, _ = text.partition("://")
    if separator and scheme.isalnum():
        return f"{scheme}://(rest not shown)"
    return "(a connection string, not shown)" if "=" in text or "@" in text else text


def _check_url(text: str) -> None:
    """Refuse a URL that libpq would read differently from what it says (see the module docstring).

    libpq takes ``user[:password]`` up to the first ``@`` before the first ``/``; an ``@`` in the hosts
    or in the path means the password held an unencoded ``@`` or ``/``.
    """
    rest = text.split("://", 1)[1]
    slash = rest.find("/")
    authority = rest if slash < 0 else rest[:slash]
    path = "" if slash < 0 else rest[slash:].split("?", 1)[0]
    at = authority.find("@")
    hosts = authority[at + 1:].split("?", 1)[0]
    if "@" in hosts or "@" in path:
        raise _unreadable(text, "an '@' or '/' that is not percent-encoded (libpq would take part of the "
                                "password for a host, port or database name)")


def _reason(message: str) -> str:
    if "percent-encoded" in message:
        return "a '%' not followed by two hex digits"
    if "spaces" in message:
        return "a space that is not percent-encoded"
    if "missing \"=\"" in message or "unterminated quoted string" in message:
        return "a value holding spaces or quotes that is not in single quotes (password='it\\'s secret')"
    return "libpq cannot read it"


def _unreadable(text: str, reason: str) -> WorkbenchError:
    fix = _URL_FIX if text.startswith(URL_SCHEMES) else \
        "quote values holding spaces or quotes: password='it\\'s secret'"
    return WorkbenchError(f"cannot read the PostgreSQL connection target {hidden(text)} (the rest is not shown: it "
                          f"may hold a password): it holds {reason}\nfix: {fix}")
