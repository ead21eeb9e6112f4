"""scikit-learn's own estimator checks, run over every public estimator."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

import skattn
from skattn import (
    AttentionFeatureExtractor,
    AttentionMLPClassifier,
    AttentionMLPRegressor,
)

# Small networks that still learn the checks' toy problems quickly.
TINY = dict(
    d_token=8,
    n_heads=2,
    n_blocks=1,
    batch_size=16,
    learning_rate=1e-2,
    max_iter=40,
    n_iter_no_change=5,
    tol=1e-3,
    random_state=0,
)

ESTIMATORS = [
    # The defaults make five cross-fitted networks of the checks' small data
    # (n_members="auto"); one network is checked too.
    AttentionMLPClassifier(**TINY),
    AttentionMLPClassifier(n_latent_tokens=3, **TINY),  # the wide-data network
    AttentionMLPRegressor(**TINY),
    AttentionMLPClassifier(n_members=1, **TINY),
    AttentionMLPRegressor(n_members=1, **TINY),
    # Quantiles stop early from 101 rows; on the checks' 200-row toy problem (its
    # columns made integer categories, as the categorical tag asks) a 20-row
    # hold-out stops before the median reaches their R² bar of 0.5, and so does a
    # patience of 5 or 10 epochs: the loss stalls about 10 epochs at the marginal
    # quantiles before they start to follow X.
    AttentionMLPRegressor(
        loss="quantile",
        quantile=[0.1, 0.9],
        **{**TINY, "early_stopping": False, "n_iter_no_change": 20},
    ),
    AttentionFeatureExtractor(n_components=4, **TINY),
]

# float32 matrix products: BLAS picks its kernel by the batch's shape (a 1-row batch
# goes through a matrix-vector kernel), and kernels round differently. A row predicted
# alone, or in another order, can then differ in the 7th digit (1.8e-7 seen), which
# is the tolerance of these checks. Whether a given model crosses it is chance: they
# passed or failed as unrelated changes moved the trained weights. Non-strict: a pass
# shows as XPASS.
FLOAT32_ROUNDING = (
    "float32 BLAS kernels differ by batch shape; results agree to ~2e-7 relative, "
    "the check asks 1e-7"
)

MINI_BATCHES = (
    "mini-batch training: a sample repeated twice lands in different batches than "
    "one sample of weight 2, so the optimisation paths differ; the weighted loss "
    "itself is equivalent (tested in test_estimators.py)"
)

# check name -> reason; the same for every estimator.
EXPECTED_FAILED_CHECKS = {
    "check_sample_weight_equivalence_on_dense_data": MINI_BATCHES,
    "check_sample_weight_equivalence_on_sparse_data": MINI_BATCHES,
    "check_methods_subset_invariance": FLOAT32_ROUNDING,
    "check_methods_sample_order_invariance": FLOAT32_ROUNDING,
}


def test_every_public_estimator_is_checked():
    from sklearn.base import BaseEstimator

    public = [
        name
        for name in skattn.__all__
        if isinstance(getattr(skattn, name), type)
        and issubclass(getattr(skattn, name), BaseEstimator)
    ]
    assert {type(est).__name__ for est in ESTIMATORS} == set(public)


# The checks train on toy problems with a capped budget (max_iter=40); whether the loss
# has settled by then is not what they test. The warning itself is tested elsewhere.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(
    ESTIMATORS, expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
