"""The feature encoder's two routes (a request's few rows, a batch's many) give one matrix."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from features.schema import CATEGORICAL_FEATURES
from models.boosting import FeatureEncoder

CATEGORY = sorted(CATEGORICAL_FEATURES)[0]
FEATURES = ("orders_90d", "net_spend_365d", "is_member", CATEGORY)
TRAINING = pd.DataFrame({CATEGORY: ["email"] * 3 + ["shop"] * 2 + ["app"]})

cells = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=False), st.integers(-5, 5))
labels = st.one_of(st.none(), st.sampled_from(["email", "shop", "app", "fax", ""]), st.just(3))


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(st.tuples(cells, cells, st.booleans(), labels), min_size=1, max_size=6),
    categorical=st.booleans(),
    nullable=st.booleans(),
)
def test_few_rows_encode_as_the_column_route(rows, categorical, nullable) -> None:
    frame = pd.DataFrame(rows, columns=list(FEATURES))
    frame["orders_90d"] = pd.to_numeric(frame["orders_90d"], errors="coerce")
    if nullable:
        frame["is_member"] = frame["is_member"].astype("boolean")
    if categorical:
        frame[CATEGORY] = frame[CATEGORY].astype("category")
    encoder = FeatureEncoder(FEATURES).fit(TRAINING)
    small, columns = encoder._transform_small(frame), encoder._transform_columns(frame)
    np.testing.assert_array_equal(small, columns)


def test_columns_given_beside_the_frame_take_their_place() -> None:
    encoder = FeatureEncoder(("orders_90d", "season_sin", CATEGORY)).fit(TRAINING)
    frame = pd.DataFrame({"orders_90d": [1.0, 2.0], CATEGORY: ["shop", "fax"]})
    extra = {"season_sin": np.array([0.5, -0.5])}
    expected = [[1.0, 0.5, 1.0], [2.0, -0.5, np.nan]]
    for route in (encoder._transform_small, encoder._transform_columns):
        np.testing.assert_array_equal(route(frame, extra), expected)


def test_the_category_code_is_the_vocabulary_position_and_unseen_is_missing() -> None:
    encoder = FeatureEncoder((CATEGORY,)).fit(TRAINING)
    frame = pd.DataFrame({CATEGORY: ["email", "shop", "app", "fax", None]})
    np.testing.assert_array_equal(encoder.transform(frame)[:, 0], [0.0, 1.0, 2.0, np.nan, np.nan])
