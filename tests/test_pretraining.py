"""Learning without labels: the extractor's masked-reconstruction fit, and starting a
classifier or regressor from a pretrained network."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline

from skattn import (
    AttentionFeatureExtractor,
    AttentionMLPClassifier,
    AttentionMLPRegressor,
)
from skattn._inputs import TableInput
from skattn._inputs.table_encoder import MISSING_CODE
from skattn._reconstruction import MaskedInputs, ReconstructionTarget

SMALL = dict(d_token=16, n_heads=2, random_state=0)


pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def clustered_frame(n: int = 400) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows from three clusters that show in a number, a category and a noisy
    second number; the cluster is the label the extractor never sees."""
    rng = np.random.default_rng(0)
    cluster = rng.integers(0, 3, size=n)
    X = pd.DataFrame(
        {
            "position": cluster + 0.3 * rng.normal(size=n),
            "shade": pd.Categorical(np.array(["light", "mid", "dark"])[cluster]),
            "echo": cluster + 1.0 * rng.normal(size=n),
            "noise": rng.normal(size=n),
        }
    )
    X.loc[::9, "echo"] = np.nan
    X.loc[::7, "shade"] = np.nan
    return X, cluster


def test_fit_without_labels_learns_to_reconstruct():
    X, _ = clustered_frame()
    original = X.copy()
    extractor = AttentionFeatureExtractor(**SMALL).fit(X)
    assert extractor.objective_ == "reconstruction"
    pd.testing.assert_frame_equal(X, original)  # masking never touches the input
    # Early stopping held rows out: validation scores are minus the loss, and the
    # kept epoch reconstructs them far better than the first one did.
    scores = extractor.validation_scores_
    assert scores is not None and extractor.best_validation_score_ == max(scores)
    assert max(scores) > scores[0] + 0.2
    assert extractor.transform(X).shape == (len(X), 16)


def test_features_learned_without_labels_carry_the_hidden_label():
    X, cluster = clustered_frame()
    pipeline = make_pipeline(
        AttentionFeatureExtractor(objective="reconstruction", **SMALL),
        LogisticRegression(max_iter=1000),
    )
    # objective="reconstruction" ignores y: the pipeline's labels reach only the
    # logistic regression.
    pipeline.fit(X.iloc[:300], cluster[:300])
    assert pipeline[0].objective_ == "reconstruction"
    assert pipeline.score(X.iloc[300:], cluster[300:]) > 0.9


def test_objective_auto_follows_y():
    X, cluster = clustered_frame(150)
    assert AttentionFeatureExtractor(max_iter=2, **SMALL).fit(X).objective_ == (
        "reconstruction"
    )
    supervised = AttentionFeatureExtractor(max_iter=2, **SMALL).fit(X, cluster)
    assert supervised.objective_ == "classification"
    with pytest.raises(ValueError, match="requires y"):
        AttentionFeatureExtractor(objective="regression", **SMALL).fit(X)


def test_warm_start_keeps_the_first_objective():
    X, cluster = clustered_frame(150)
    extractor = AttentionFeatureExtractor(max_iter=2, warm_start=True, **SMALL)
    extractor.fit(X, cluster)
    with pytest.raises(ValueError, match="continues a fit on labels"):
        extractor.fit(X)
    unsupervised = AttentionFeatureExtractor(max_iter=2, warm_start=True, **SMALL)
    assert unsupervised.fit(X).fit(X, cluster).objective_ == "reconstruction"


def test_reconstruction_is_reproducible_and_pickles():
    X, _ = clustered_frame(200)
    first = AttentionFeatureExtractor(max_iter=5, **SMALL).fit(X)
    second = AttentionFeatureExtractor(max_iter=5, **SMALL).fit(X)
    np.testing.assert_array_equal(first.transform(X), second.transform(X))
    restored = pickle.loads(pickle.dumps(first))
    np.testing.assert_array_equal(restored.transform(X), first.transform(X))


def test_sequences_reconstruct_masked_patches():
    rng = np.random.default_rng(0)
    phase = rng.uniform(0, 2 * np.pi, size=(200, 1))
    steps = np.arange(24)
    X = np.sin(steps / 3 + phase)[..., None] + 0.05 * rng.normal(size=(200, 24, 1))
    extractor = AttentionFeatureExtractor(patch_size=4, max_iter=30, **SMALL).fit(X)
    assert extractor.validation_scores_[-1] > extractor.validation_scores_[0]
    assert extractor.transform(X[:3]).shape == (3, 16)


def test_two_inputs_cannot_be_reconstructed():
    from skattn import TwoInputs

    X = TwoInputs(np.zeros((20, 2)), np.zeros((20, 4, 1)))
    with pytest.raises(ValueError, match="not TwoInputs"):
        AttentionFeatureExtractor(**SMALL).fit(X)


def test_masking_hides_values_as_missing():
    torch.manual_seed(0)
    captured = {}

    class Capture(torch.nn.Module):
        def forward(self, inputs):
            captured.update(inputs)
            return inputs["x_num"]

    table = TableInput(
        categorical_features="auto",
        numerical_scaling=None,
        numerical_embedding="linear",
        random_state=0,
    )
    masked = MaskedInputs(Capture(), mask_fraction=0.5, input=table)
    x_num, x_cat = torch.ones(500, 3), torch.full((500, 2), 5)
    masked.train()
    masked({"x_num": x_num, "x_cat": x_cat})
    hidden_num = torch.isnan(captured["x_num"])
    hidden_cat = captured["x_cat"] == MISSING_CODE
    share = torch.cat([hidden_num, hidden_cat], dim=1).float().mean()
    assert 0.45 < share < 0.55
    assert torch.equal(x_num, torch.ones(500, 3))  # the batch itself is untouched
    # In eval mode the mask is fixed, so validation losses compare across epochs.
    masked.eval()
    masked({"x_num": x_num, "x_cat": x_cat})
    first = torch.isnan(captured["x_num"]).clone()
    masked({"x_num": x_num, "x_cat": x_cat})
    assert torch.equal(first, torch.isnan(captured["x_num"]))


def test_reconstruction_loss_skips_missing_values():
    class Input:
        def reconstruction_layout(self):
            return 1, [4]  # one number, then one category of 4 codes

    target = ReconstructionTarget(Input(), 0.3).fit(None, None)
    assert target.n_outputs == 1 + 4
    output = torch.tensor([[0.5, 0.0, 0.0, 5.0, 0.0]] * 2)
    values = torch.tensor([[1.5, 3.0], [float("nan"), MISSING_CODE]])
    loss = target.loss(output, values)
    cross_entropy = torch.nn.functional.cross_entropy(output[:1, 1:], torch.tensor([3]))
    assert loss[0] == pytest.approx((1.0 + cross_entropy.item()) / 2)
    assert loss[1] == 0.0  # nothing observed, nothing to reconstruct


# -- pretrained ------------------------------------------------------------------------
def test_pretrained_copies_the_encoding_and_body():
    X, cluster = clustered_frame()
    extractor = AttentionFeatureExtractor(n_components=8, max_iter=5, **SMALL).fit(X)
    # A learning rate so small that fine-tuning leaves the copied weights as they
    # were: what the classifier starts from is visible.
    clf = AttentionMLPClassifier(
        pretrained=extractor, learning_rate=1e-12, max_iter=2, **SMALL
    ).fit(X.iloc[:40], cluster[:40])
    source = extractor.module_.state_dict()
    members = clf.module_.members  # five below 3,000 rows, each given the body
    assert len(members) == 5
    for member in members:
        for name, tensor in member.state_dict().items():
            if name.startswith("output."):
                assert tensor.shape != source[name].shape  # 3 classes, not 4 + 5
            else:
                torch.testing.assert_close(tensor, source[name], rtol=0, atol=1e-6)
        assert "head_projection.weight" not in member.state_dict()
    # The scaling and categories come from the 400 rows of pre-training.
    encoder, source_encoder = clf._input.encoder_, extractor._input.encoder_
    assert encoder is not source_encoder
    assert encoder.category_cardinalities_ == source_encoder.category_cardinalities_


def test_pretraining_helps_with_few_labels():
    X, cluster = clustered_frame(600)
    extractor = AttentionFeatureExtractor(**SMALL).fit(X.iloc[:500])
    few, test = np.r_[0:8], np.r_[500:600]  # eight labelled rows

    def mean_test_accuracy(**params):
        scores = [
            AttentionMLPClassifier(**params, d_token=16, n_heads=2, random_state=seed)
            .fit(X.iloc[few], cluster[few])
            .score(X.iloc[test], cluster[test])
            for seed in range(3)
        ]
        return np.mean(scores)

    scratch = mean_test_accuracy()
    pretrained = mean_test_accuracy(pretrained=extractor)
    assert pretrained > scratch + 0.05, (pretrained, scratch)


def test_frozen_pretrained_model_survives_clone_and_cross_validation():
    X, cluster = clustered_frame(200)
    extractor = AttentionFeatureExtractor(max_iter=5, **SMALL).fit(X)
    reg = AttentionMLPRegressor(
        pretrained=FrozenEstimator(extractor), max_iter=3, **SMALL
    )
    assert clone(reg).pretrained.estimator is extractor
    scores = cross_val_score(reg, X, cluster.astype(float), cv=2)
    assert np.isfinite(scores).all()
    with pytest.raises(ValueError, match="FrozenEstimator"):
        cross_val_score(
            AttentionMLPRegressor(pretrained=extractor, **SMALL),
            X,
            cluster.astype(float),
            cv=2,
            error_score="raise",
        )


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(d_token=32, n_heads=2), "d_token=32 here but 16 there"),
        (dict(n_blocks=1, d_token=16, n_heads=2), "n_blocks=1 here but 2 there"),
        (dict(n_latent_tokens=4, d_token=16, n_heads=2), "n_latent_tokens=4"),
    ],
)
def test_pretrained_network_must_have_the_same_shape(params, message):
    X, cluster = clustered_frame(150)
    extractor = AttentionFeatureExtractor(max_iter=2, **SMALL).fit(X)
    with pytest.raises(ValueError, match=message):
        AttentionMLPClassifier(pretrained=extractor, **params).fit(X, cluster)


def test_pretrained_must_be_a_skattn_model_fitted_on_the_same_columns():
    X, cluster = clustered_frame(150)
    with pytest.raises(TypeError, match="fitted skattn estimator"):
        AttentionMLPClassifier(pretrained=LogisticRegression()).fit(X, cluster)
    extractor = AttentionFeatureExtractor(max_iter=2, **SMALL).fit(X)
    with pytest.raises(ValueError, match="feature names should match"):
        AttentionMLPClassifier(pretrained=extractor, **SMALL).fit(
            X[X.columns[::-1]], cluster
        )
    with pytest.raises(ValueError, match="sequence data"):
        AttentionMLPClassifier(pretrained=extractor, **SMALL).fit(
            np.zeros((10, 4, 2)), cluster[:10]
        )
