"""What a column means, guessed from its name and its table's name: email, city, price, quantity...

Hints only shape values; the type and the constraints always win.
"""

from __future__ import annotations

import re

PEOPLE_TABLES = re.compile(r"customer|user|staff|employee|person|people|author|actor|member|contact|student|"
                           r"teacher|patient|client|owner|account|driver|artist|player|manager")
PRODUCT_TABLES = re.compile(r"product|item|article|good|sku|film|book|album|track|course|listing|offer|service")
_TEXT_HINTS = (  # (pattern on the column name, hint); first match wins
    (r"e_?mail", "email"), (r"first_?name|given_?name|forename", "first_name"),
    (r"last_?name|surname|family_?name", "last_name"), (r"full_?name|display_?name|contact_?name", "full_name"),
    (r"user_?name|login|handle|nick", "username"), (r"country_?code|country_?iso|iso_?code|^iso2?$", "country_code"),
    (r"country", "country"), (r"city|town", "city"), (r"phone|mobile|fax|tel", "phone"),
    (r"url|website|homepage|link|href", "url"), (r"zip|postal|postcode", "zip"),
    (r"address|street|line1|line2", "address"), (r"sku|barcode|ean|upc", "sku"), (r"code$|^code", "code"),
    (r"status|state$|stage", "status"), (r"currency", "currency"), (r"lang|locale", "language"),
    (r"colou?r", "color"), (r"slug", "slug"), (r"password|hash|token|secret|digest", "hash"),
    (r"^ip|_ip$|ip_?addr", "ip"), (r"title|subject|headline|caption", "title"),
    (r"descr|body|content|comment|note|text|summary|bio|message|review|fulltext", "description"),
    (r"name|label", "name"),
)
_NUMBER_HINTS = (
    (r"latitude|^lat$", "latitude"), (r"longitude|^lng$|^lon$|^long$", "longitude"),
    (r"salary|wage|income", "salary"),
    (r"price|amount|total|cost|fee|balance|revenue|subtotal|charge|payment|tax|rate$|value", "money"),
    (r"quantity|^qty|_qty|qty_", "quantity"), (r"stock|inventory|on_hand", "stock"), (r"age$", "age"),
    (r"rating|stars|score", "rating"), (r"year", "year"), (r"percent|pct|discount|ratio", "percent"),
    (r"count|num_|number_of|_count", "count"), (r"duration|length|minutes|seconds", "duration"),
    (r"weight|height|width|size", "measure"), (r"(^|_)id$|_id_", "id"),
)
_DATE_HINTS = ((r"birth|dob|born", "birth"),)
_TRUE_MOSTLY = re.compile(r"active|enabled|verified|visible|available|valid|published|confirmed")


def text_hint(column: str, table: str) -> str | None:
    """The meaning of a text column, e.g. ``"email"``; bare ``name`` depends on the table."""
    hint = _first(_TEXT_HINTS, column)
    if hint == "name":
        table = table.lower()
        for pattern, meaning in ((PEOPLE_TABLES, "full_name"), (PRODUCT_TABLES, "product"),
                                 (re.compile("cit(y|ies)"), "city"), (re.compile("countr"), "country")):
            if pattern.search(table):
                return meaning
        return "name"
    return hint


def number_hint(column: str) -> str | None:
    return _first(_NUMBER_HINTS, column)


def date_hint(column: str) -> str | None:
    return _first(_DATE_HINTS, column)


def true_share(column: str) -> float:
    """Share of TRUE in a boolean flag: high for ``active``/``enabled``, low for ``deleted``/other flags."""
    return 0.85 if _TRUE_MOSTLY.search(column.lower()) else 0.2


def _first(hints: tuple[tuple[str, str], ...], name: str) -> str | None:
    lowered = name.lower()
    return next((hint for pattern, hint in hints if re.search(pattern, lowered)), None)
