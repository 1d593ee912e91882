"""Nothing lost on a crash: a writer killed mid-write leaves the previous scores readable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.files import write_table

WRITER = """
import sys
import numpy as np, pandas as pd
from pathlib import Path
from pipelines.files import write_table
n = 6_000_000
frame = pd.DataFrame({"customer_id": np.arange(n).astype(str), "churn_probability": np.random.rand(n)})
print("writing", flush=True)
write_table(frame, Path(sys.argv[1]))
"""


@pytest.mark.integration
def test_killed_writer_leaves_previous_scores_intact(tmp_path: Path) -> None:
    target = tmp_path / "scores" / "latest.parquet"
    previous = pd.DataFrame({"customer_id": ["c1", "c2"], "churn_probability": [0.1, 0.9]})
    write_table(previous, target)
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(target)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "writing"
    deadline = time.monotonic() + 60
    killed_mid_write = False
    while time.monotonic() < deadline and proc.poll() is None:
        partial = [p for p in target.parent.iterdir() if p.name.startswith(".latest.parquet.")]
        if partial and partial[0].stat().st_size > 0:
            os.kill(proc.pid, signal.SIGKILL)
            killed_mid_write = True
            break
        time.sleep(0.002)
    proc.wait(timeout=30)
    assert killed_mid_write, "the writer finished before it could be killed mid-write"
    pd.testing.assert_frame_equal(pd.read_parquet(target), previous)


def test_atomic_write_replaces_the_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "latest.parquet"
    write_table(pd.DataFrame({"a": [1]}), target)
    write_table(pd.DataFrame({"a": np.arange(5)}), target)
    assert pd.read_parquet(target)["a"].tolist() == [0, 1, 2, 3, 4]
    assert [p.name for p in tmp_path.iterdir()] == ["latest.parquet"]  # no temp left behind
