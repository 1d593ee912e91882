"""BentoML scoring service: POST /score by customer_id; GET /healthz (BentoML's own probe).

Run with `retain serve` or `make serve` (127.0.0.1:3000). Settings come from the
environment (RETAIN_HOME), built once when the service starts.
"""

from __future__ import annotations

from typing import Annotated

import bentoml
from pydantic import Field

from pipelines.settings import Settings
from serving.schemas import MAX_IDS_PER_REQUEST, ScoreResponse
from serving.store import ScoreStore


@bentoml.service(name="retain", traffic={"timeout": 30})
class RetainService:
    """Churn risk, next-order timing and reasons from the latest batch run."""

    def __init__(self) -> None:
        self.store = ScoreStore(Settings().latest_scores_path.resolve())

    @bentoml.api(route="/score")
    def score(
        self,
        customer_ids: Annotated[
            list[str],
            Field(max_length=MAX_IDS_PER_REQUEST, description="Customers to look up."),
        ],
    ) -> ScoreResponse:
        """Scores, reasons and model version per customer; unknown ids get a per-item error."""
        return self.store.lookup(customer_ids)
