"""The service as it is deployed: `bentoml build` packages it (with a BentoML home of the
test's own), `bentoml serve` starts it from the built bento (not the source tree) on
127.0.0.1 over a home with a trained champion and published scores; then it is scored
through with a key, fuzzed from its own OpenAPI 3.1 spec with every schemathesis check, and
every answer is parsed by a client generated from that spec."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from serving.auth import KeyRing
from serving.launch import serve_env
from tests.cli_helpers import scored_home
from tests.net_helpers import free_port, running
from tests.pipelines.cli.fresh_venv import ROOT
from tests.pipelines.cli.test_end_to_end import posted_histories

pytestmark = pytest.mark.integration
BIN = Path(sys.executable).parent
SCORE_FIELDS = ("churn_probability", "expected_days_to_next_order", "order_probability_30d",
                "value_at_risk")  # fmt: skip
ANSWERS: list[httpx.Response] = []  # every answer of this module, for the generated client


def build_bento(bentoml_home: Path) -> Path:
    """`bentoml build` of the repository into `bentoml_home`; the built bento's folder."""
    env = {**os.environ, "BENTOML_HOME": str(bentoml_home), "BENTOML_DO_NOT_TRACK": "true"}
    built = subprocess.run(
        [str(BIN / "bentoml"), "build"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    tag = re.search(r'Bento\(tag="retain:([a-z0-9]+)"\)', built.stdout)
    assert tag, built.stdout[-2000:]
    return bentoml_home / "bentos" / "retain" / tag.group(1)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("deployed")
    mp = pytest.MonkeyPatch()
    home = scored_home(mp, root, customers=1500, seed=5)
    key = KeyRing(home / "api_keys.json").add("crm-app", pd.Timestamp("2026-12-01"))
    bento = build_bento(root / "bentoml")
    port = free_port()
    env = serve_env(dict(os.environ), str(home), port, insecure=False, workers=1)
    env["BENTOML_HOME"] = str(root / "bentoml")  # the store holding the built bento
    command = [str(BIN / "python"), "-m", "bentoml", "serve", f"retain:{bento.name}",
               "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    served = root / "served"  # not the source tree: the bento's own copy must hold everything
    served.mkdir()
    with running(command, env, f"{url}/readyz", root / "server.log", cwd=served):
        yield {"url": url, "key": key, "root": root, "bento": bento}
    mp.undo()


def _post(deployed: dict[str, Any], route: str, body: Any, **headers: str) -> httpx.Response:
    auth = {"Authorization": f"Bearer {deployed['key']}", **headers}
    reply = httpx.post(f"{deployed['url']}{route}", json=body, headers=auth, timeout=60)
    ANSWERS.append(reply)
    return reply


def test_the_bento_holds_every_file_of_the_packages(deployed: dict[str, Any]) -> None:
    """Every tracked file of the service's packages is in the bento: modules, templates,
    static files (the include list is derived from the packages, not written per file)."""
    tracked = subprocess.run(
        ["git", "ls-files", "features", "models", "pipelines", "serving"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    missing = [f for f in tracked if not (deployed["bento"] / "src" / f).exists()]
    assert tracked and not missing, missing
    assert (deployed["bento"] / "env" / "docker" / "Dockerfile").exists()


def test_the_served_bento_gives_the_batch_scores(deployed: dict[str, Any]) -> None:
    batch = pd.read_parquet(deployed["root"] / "scores.parquet").set_index("customer_id")
    chosen = list(batch.sample(40, random_state=2).index)
    reply = _post(deployed, "/v1/score", {"customer_ids": chosen})
    assert reply.status_code == 200, reply.text
    got = pd.DataFrame(reply.json()["results"]).set_index("customer_id")
    assert got["found"].all() and reply.json()["model_version"] == batch["model_version"].iloc[0]
    for field in SCORE_FIELDS:
        assert got.loc[chosen, field].to_numpy() == pytest.approx(
            batch.loc[chosen, field].to_numpy(), rel=1e-9, abs=1e-12
        ), field
    alias = _post(deployed, "/score", {"customer_ids": chosen[:3]})  # the unversioned alias
    assert alias.status_code == 200 and alias.json()["results"] == reply.json()["results"][:3]


def test_the_served_bento_scores_posted_histories_as_the_batch(deployed: dict[str, Any]) -> None:
    batch = pd.read_parquet(deployed["root"] / "scores.parquet").set_index("customer_id")
    as_of = pd.Timestamp(batch["as_of"].iloc[0])
    chosen = list(batch.sample(4, random_state=4).index)
    for customer, body in posted_histories(deployed["root"] / "data", chosen, as_of).items():
        reply = _post(
            deployed, "/v1/score/history",
            {"as_of": str(as_of.date()), "customer_id": customer, **body},
        )  # fmt: skip
        assert reply.status_code == 200, reply.text
        got = reply.json()["results"][0]
        assert got["found"] and reply.json()["set_aside"] == []
        for field in SCORE_FIELDS:
            assert got[field] == pytest.approx(batch.loc[customer, field], rel=1e-9, abs=1e-12)


def test_errors_are_json_with_a_code(deployed: dict[str, Any]) -> None:
    wrong = _post(deployed, "/v1/score", {"customer_ids": []})
    assert wrong.status_code == 400 and wrong.json()["code"] == "invalid_request"
    unknown_day = {"as_of": "2025-02-30", "customer_id": "c", "orders": [
        {"order_id": "o1", "ordered_at": "2025-01-01"}]}  # fmt: skip
    assert _post(deployed, "/v1/score/history", unknown_day).status_code == 400
    bad_row = {"as_of": "2025-06-01", "customer_id": "c", "orders": [
        {"order_id": "o1", "ordered_at": "2025-05-01"},
        {"order_id": "o2", "ordered_at": "not a date"}]}  # fmt: skip
    set_aside = _post(deployed, "/v1/score/history", bad_row)  # the batch sets it aside too
    assert set_aside.status_code == 200
    assert set_aside.json()["set_aside"][0].startswith("orders[1].ordered_at: unparseable")
    bad_rows = {**bad_row, "orders": bad_row["orders"][1:]}  # no usable order at all
    unusable = _post(deployed, "/v1/score/history", bad_rows)
    assert unusable.status_code == 200 and not unusable.json()["results"][0]["found"]
    assert "ordered_at" in unusable.json()["set_aside"][0]
    anonymous = httpx.post(f"{deployed['url']}/v1/score", json={"customer_ids": ["x"]}, timeout=9)
    ANSWERS.append(anonymous)
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "unauthorized"


def test_metrics_time_each_step_of_a_posted_history(deployed: dict[str, Any]) -> None:
    """/metrics gives a histogram per step of a posted history (issue 27): validate,
    features, model and reasons, each observed once more per history scored."""
    from serving.metrics import HISTORY_STEPS

    def counts() -> dict[str, float]:
        text = httpx.get(f"{deployed['url']}/metrics", timeout=10).text
        found = re.findall(r'^retain_history_step_seconds_count\{step="(\w+)"\} (\S+)$', text, re.M)
        return {step: float(n) for step, n in found}

    batch = pd.read_parquet(deployed["root"] / "scores.parquet")
    customer, as_of = batch["customer_id"].iloc[0], pd.Timestamp(batch["as_of"].iloc[0])
    body = posted_histories(deployed["root"] / "data", [customer], as_of)[customer]
    before = counts()
    reply = _post(
        deployed, "/v1/score/history", {"as_of": str(as_of.date()), "customer_id": customer, **body}
    )
    assert reply.status_code == 200 and reply.json()["results"][0]["found"]
    after = counts()
    for step in HISTORY_STEPS:
        assert after[step] == before.get(step, 0) + 1, (step, before, after)
    sums = re.findall(r'^retain_history_step_seconds_sum\{step="(\w+)"\} (\S+)$',
                      httpx.get(f"{deployed['url']}/metrics", timeout=10).text, re.M)  # fmt: skip
    assert {step for step, total in sums if float(total) > 0} == set(HISTORY_STEPS)


def test_schemathesis_with_every_check_finds_nothing(deployed: dict[str, Any]) -> None:
    """Every check, positive_data_acceptance included, a bounded number of examples."""
    done = subprocess.run(
        [str(BIN / "st"), "run", f"{deployed['url']}/docs.json", "--checks", "all",
         "-H", f"Authorization: Bearer {deployed['key']}", "-n", "100",
         "--generation-deterministic", "--request-timeout", "30"],
        capture_output=True, text=True, env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
        cwd=deployed["root"],
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-8000:] + done.stderr[-2000:]


def test_a_client_generated_from_the_spec_parses_every_answer(
    deployed: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pydantic models generated from /docs.json (extra fields forbidden, nullability as
    declared) parse every answer of this module: scores as ScoreResponse, errors as Error."""
    auth = {"Authorization": f"Bearer {deployed['key']}"}
    spec = httpx.get(f"{deployed['url']}/docs.json", headers=auth, timeout=10).json()
    assert spec["openapi"].startswith("3.1") and spec["info"]["title"] == "retain"
    assert spec["info"]["version"] == importlib.metadata.version("retain")
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    subprocess.run(
        [str(BIN / "datamodel-codegen"), "--input", str(tmp_path / "spec.json"),
         "--input-file-type", "openapi", "--output-model-type", "pydantic_v2.BaseModel",
         "--extra-fields", "forbid", "--strict-nullable", "--target-python-version", "3.11",
         "--output", str(tmp_path / "client.py")],
        check=True, capture_output=True,
    )  # fmt: skip
    loaded = importlib.util.spec_from_file_location("retain_client", tmp_path / "client.py")
    assert loaded and loaded.loader
    client = importlib.util.module_from_spec(loaded)
    monkeypatch.setitem(sys.modules, "retain_client", client)
    loaded.loader.exec_module(client)
    assert len(ANSWERS) >= 8, "run with the module's other tests"
    for answer in ANSWERS:
        model = client.ScoreResponse if answer.status_code == 200 else client.Error
        model.model_validate_json(answer.content)
