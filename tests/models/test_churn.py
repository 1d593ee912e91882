"""How the churn model chooses its tree complexity on the time-later fold."""

from __future__ import annotations

import numpy as np

from models.churn import Platt, Stack, log_loss_per_row, one_standard_error_choice


def test_a_gain_within_the_noise_keeps_the_simpler_model() -> None:
    simple = np.array([0.40, 0.60, 0.40, 0.60])  # mean 0.50
    complex_ = np.array([0.30, 0.66, 0.30, 0.66])  # mean 0.48, standard error 0.09
    assert one_standard_error_choice([simple, complex_]) == 0


def test_a_clear_gain_earns_the_complexity() -> None:
    simple = np.full(100, 0.50)
    complex_ = np.full(100, 0.40) + np.tile([-0.01, 0.01], 50)  # standard error 0.001
    assert one_standard_error_choice([simple, complex_]) == 1


def test_the_best_is_chosen_when_it_is_also_the_simplest() -> None:
    assert one_standard_error_choice([np.full(10, 0.3), np.full(10, 0.5)]) == 0


def test_log_loss_per_row() -> None:
    loss = log_loss_per_row(np.array([1.0, 0.0]), np.array([0.5, 0.0]))
    assert loss[0] == np.log(2)
    assert 0 <= loss[1] < 1e-8  # a certain, right prediction costs (almost) nothing


def test_the_logistic_calibrators_equal_scikit_learns_map_and_score_a_row_alike_in_any_batch() -> (
    None
):
    rng = np.random.default_rng(1)
    inputs = rng.normal(size=(3000, 2))
    y = (inputs[:, 0] + inputs[:, 1] + rng.normal(size=3000) > 0).astype(int)
    for make in (Platt, Stack):
        calibrator = make().fit(inputs, y)
        for rows in (inputs[:1], inputs[:7], inputs):
            expected = calibrator.model_.predict_proba(rows[:, : make.columns])
            np.testing.assert_allclose(calibrator.predict_proba(rows), expected, rtol=0, atol=1e-15)
        together = calibrator.predict_proba(inputs)
        alone = np.vstack([calibrator.predict_proba(inputs[i : i + 1]) for i in range(50)])
        np.testing.assert_array_equal(alone, together[:50])  # a row scores alike in any batch
