"""`retain score --out`: the run's scores file in any output format, streamed where it can be."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipelines.errors import InputError
from pipelines.scoring.batch import export

SCORES = pd.DataFrame(
    {
        "customer_id": ["c1", "c2", "c3"],
        "churn_probability": [0.1, 0.5, 0.9],
        "as_of": pd.Timestamp("2025-06-01"),
    }
)


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".json", ".xlsx"])
def test_every_format_holds_the_scores(tmp_path: Path, suffix: str) -> None:
    SCORES.to_parquet(source := tmp_path / "scores.parquet")
    export(source, out := tmp_path / f"out{suffix}")
    read = {".parquet": pd.read_parquet, ".csv": pd.read_csv, ".xlsx": pd.read_excel}
    got = read.get(suffix, lambda p: pd.read_json(p, orient="records"))(out)
    assert got["customer_id"].tolist() == ["c1", "c2", "c3"]
    assert got["churn_probability"].tolist() == [0.1, 0.5, 0.9]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp left


def test_a_sheet_too_long_for_excel_is_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("pipelines.files.EXCEL_MAX_ROWS", 2)
    SCORES.to_parquet(source := tmp_path / "scores.parquet")
    with pytest.raises(InputError, match="3 rows do not fit an Excel sheet"):
        export(source, tmp_path / "out.xlsx")
    assert not (tmp_path / "out.xlsx").exists()
