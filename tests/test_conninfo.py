"""Connection targets: parsed by libpq's rules, shown without secrets, refused (without showing them) when
libpq would misread them."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from workbench.engines.conninfo import ConnInfo, hidden, shown
from workbench.errors import WorkbenchError

SECRET = "s3cr/#?@:% 'x\""  # every URL-special character


@pytest.mark.parametrize(("target", "label"), [
    ("postgresql://ann:s3cret@db.example:5432/shop", "host=db.example port=5432 user=ann dbname=shop"),
    ("postgresql://ann:s3c#ret@db/shop?sslmode=require", "host=db user=ann dbname=shop sslmode=require"),
    ("postgresql://ann:s3c?ret@db/shop", "host=db user=ann dbname=shop"),
    ("postgresql://ann:s3c:ret@db/shop", "host=db user=ann dbname=shop"),
    ("postgresql://db/shop?user=ann&password=s3cret&sslmode=require", "host=db user=ann dbname=shop sslmode=require"),
    ("host=db user=ann password=s3cret dbname=shop", "host=db user=ann dbname=shop"),
    ("host=db password = 's3 cret\\' x' dbname=shop sslpassword=k3yphrase", "host=db dbname=shop"),
    ("postgresql://postgres:@/postgres?host=/tmp/pg", "host=/tmp/pg user=postgres dbname=postgres"),
    ("postgresql://ann@db/shop", "host=db user=ann dbname=shop"),
    (f"postgresql://ann:{quote(SECRET, safe='')}@/shop?host=/tmp/pg", "host=/tmp/pg user=ann dbname=shop"),
])
def test_a_target_is_shown_by_its_parsed_label_never_its_password(target, label):
    parsed = ConnInfo.parse(target)
    assert parsed.label == label == str(parsed) and label in repr(parsed)
    assert shown(target) == label
    assert "s3" not in label and "k3y" not in label


@pytest.mark.parametrize("target", [
    "postgresql://ann:pa/ss@db/shop",  # libpq would read host "ann", port "pa"
    "postgresql://ann:pa@ss@db/shop",  # libpq would read password "pa", host "ss@db"
    "postgresql://ann:p@w/x@db/shop",
    "postgresql://ann:pa%ss@db/shop",  # libpq: invalid percent-encoded token (and it quotes the token)
    "postgresql://ann:pa ss@db/shop",  # libpq: unexpected spaces (quoting them)
    f"postgresql://ann:{SECRET}@db/shop",
    "host=db password=pa ss dbname=shop",  # libpq: missing "=" after "ss" (quoting it)
])
def test_an_unencoded_password_is_refused_without_showing_any_part_of_it(target):
    with pytest.raises(WorkbenchError) as caught:
        ConnInfo.parse(target)
    message = str(caught.value)
    for piece in ("pa/ss", "pa@ss", "p@w", "pa%ss", "pa ss", SECRET, "ss@db", "w/x"):
        assert piece not in message
    assert "not shown" in message
    assert ("percent-encode" in message) == target.startswith("postgresql://")
    assert shown(target) in ("postgresql://(rest not shown)", "(a connection string, not shown)")


def test_conninfo_gives_libpq_the_password_and_scrub_hides_it_in_foreign_text():
    parsed = ConnInfo.parse(f"postgresql://ann:{quote(SECRET, safe='')}@/shop?host=/tmp/pg")
    assert ConnInfo.parse(parsed.conninfo()).conninfo() == parsed.conninfo()
    assert SECRET in parsed.conninfo() or SECRET.replace("'", "\\'") in parsed.conninfo()
    assert parsed.get("password") is None and parsed.get("user") == "ann"
    echoed = f"FATAL: no such user; given {SECRET} and {quote(SECRET, safe='')}"
    assert SECRET not in parsed.scrub(echoed) and quote(SECRET, safe="") not in parsed.scrub(echoed)
    assert parsed.replace(dbname="other").label == "host=/tmp/pg user=ann dbname=other"


def test_plain_values_are_shown_as_they_are():
    for text in ("duckdb", "ratio = 2", "search_path", "4MB", "duckdb:/tmp/x.duckdb"):
        assert shown(text) == text
    assert hidden("postgresq://me:pw@db/x") == "postgresq://(rest not shown)"


def test_a_url_inside_other_text_is_not_shown_and_commands_show_labels(monkeypatch):
    from workbench.engines.markers import Mark

    assert "s3cret" not in shown("--engine=postgresql://ann:s3cret@db/shop")
    monkeypatch.setattr("sys.argv", ["/venv/bin/workbench", "load", "--engine=postgresql://ann:s3cret@db/shop",
                                     "--engine", "host=db password=s3cret", "--scale=ci"])
    command = Mark.here().command
    assert "s3cret" not in command
    assert command == "workbench load --engine=host=db user=ann dbname=shop --engine host=db --scale=ci"
