"""Page sessions live on the server: signing out or revoking a key ends them for every
worker; the cookie alone (a random id) proves nothing."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pipelines.home import Home
from serving.ui.customer import next_order_text
from serving.ui.session import SESSION_SECONDS, Sessions

NOW = 1_800_000_000.0


def test_a_session_ends_at_sign_out_for_every_worker(tmp_path: Path) -> None:
    one, other = (
        Sessions(Home(tmp_path)),
        Sessions(Home(tmp_path)),
    )  # two worker processes, one home
    cookie = one.issue("marketing", NOW)
    assert other.key_name(cookie, NOW + 1) == "marketing"
    one.end(cookie)
    assert other.key_name(cookie, NOW + 2) is None
    assert one.key_name(cookie, NOW + 2) is None


def test_a_session_expires_and_a_forged_one_is_unknown(tmp_path: Path) -> None:
    sessions = Sessions(Home(tmp_path))
    cookie = sessions.issue("marketing", NOW)
    assert sessions.key_name(cookie, NOW + SESSION_SECONDS - 1) == "marketing"
    assert sessions.key_name(cookie, NOW + SESSION_SECONDS) is None
    assert sessions.key_name(f"marketing|{int(NOW) + 999}|deadbeef", NOW) is None
    assert sessions.key_name("", NOW) is None and sessions.key_name(None, NOW) is None
    assert cookie not in (tmp_path / "ui_sessions.sqlite").read_bytes().decode("latin-1")


def test_revoking_a_key_ends_only_its_sessions(tmp_path: Path) -> None:
    sessions = Sessions(Home(tmp_path))
    revoked, kept = sessions.issue("old", NOW), sessions.issue("crm", NOW)
    sessions.end_key("old")
    assert sessions.key_name(revoked, NOW) is None
    assert sessions.key_name(kept, NOW) == "crm"


def test_csrf_tokens_belong_to_their_session(tmp_path: Path) -> None:
    sessions = Sessions(Home(tmp_path))
    a, b = sessions.issue("x", NOW), sessions.issue("x", NOW)
    assert sessions.csrf_ok(a, sessions.csrf_for(a)) and not sessions.csrf_ok(
        b, sessions.csrf_for(a)
    )
    assert not sessions.csrf_ok(a, "\x80") and not sessions.csrf_ok(a, "\udc80")  # not ASCII


def test_the_next_order_date_is_conditional_and_only_when_likely() -> None:
    score = {"next_order_date": "2026-01-22", "next_order_p10_days": 5.2,
             "next_order_p90_days": 40.0}  # fmt: skip
    as_of = pd.Timestamp("2026-01-01")
    likely = next_order_text(score, as_of, 0.8, 0.5, 90)
    assert likely == "if they order: around 2026-01-22, 80 % between 2026-01-06 and 2026-02-10"
    unlikely = next_order_text(score, as_of, 0.14, 0.5, 90)
    assert unlikely.startswith("unlikely to order in 90 days") and "2026-01-22" not in unlikely
