"""n_members: networks trained side by side in one estimator, cross-fitted."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from scipy.special import softmax
from sklearn.datasets import load_breast_cancer, make_regression
from skorch.callbacks import Callback
from test_network import as_inputs, make_inputs, make_network

from skattn import (
    AttentionFeatureExtractor,
    AttentionMLPClassifier,
    AttentionMLPRegressor,
    load_model,
    save_model,
)
from skattn._members import (
    MemberEnsemble,
    MemberLoss,
    combine_outputs,
    out_of_fold_outputs,
)
from skattn._network import AttentionMLPNetwork
from skattn._pretrained import HEAD_LAYERS, copy_body_weights

SMALL = dict(d_token=16, n_heads=2, n_blocks=1, max_iter=30, random_state=0)


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return X[:300], y[:300]


@pytest.fixture(scope="module")
def ensemble_classifier(cancer):
    return AttentionMLPClassifier(n_members=3, **SMALL).fit(*cancer)


def _network(seed: int) -> AttentionMLPNetwork:
    torch.manual_seed(seed)
    return make_network()


def _inputs() -> dict[str, torch.Tensor]:
    return as_inputs(*make_inputs(n_rows=5))


def test_probabilities_are_the_mean_of_the_members_probabilities(
    ensemble_classifier, cancer
):
    X, _ = cancer
    clf = ensemble_classifier
    assert isinstance(clf.module_, MemberEnsemble)
    assert len(clf.module_.members) == 3
    inputs = {k: torch.from_numpy(v) for k, v in clf._input.transform(X[:20]).items()}
    with torch.no_grad():
        members = [m(inputs).numpy() for m in clf.module_.members]
    expected = np.mean([softmax(out, axis=1) for out in members], axis=0)
    np.testing.assert_allclose(clf.predict_proba(X[:20]), expected, atol=1e-6)
    # The members are three networks, not one network thrice.
    assert not np.allclose(members[0], members[1])


def test_regression_predictions_are_the_mean_of_the_members():
    X, y = make_regression(n_samples=120, n_features=5, noise=5.0, random_state=0)
    reg = AttentionMLPRegressor(n_members=4, **SMALL).fit(X, y)
    outputs = combine_outputs(torch.tensor([[[1.0]], [[2.0]], [[6.0]]]), "mean")
    assert outputs.item() == pytest.approx(3.0)
    inputs = {k: torch.from_numpy(v) for k, v in reg._input.transform(X[:10]).items()}
    with torch.no_grad():
        mean = torch.stack([m(inputs) for m in reg.module_.members]).mean(0)
    np.testing.assert_allclose(
        reg.predict(X[:10]),
        reg._target.decode(mean.numpy().astype(np.float64)),
        rtol=1e-5,
    )


def test_combined_logits_give_the_mean_probabilities():
    outputs = torch.tensor([[[0.0, 2.0]], [[1.0, -1.0]]])  # (M=2, B=1, O=2)
    combined = combine_outputs(outputs, "probabilities")
    expected = torch.softmax(outputs, -1).mean(0)
    torch.testing.assert_close(torch.softmax(combined, -1), expected)
    torch.testing.assert_close(torch.exp(combined), expected)


def test_member_loss_trains_each_member_off_its_fold_and_scores_it_on_it():
    def per_sample(output, target):
        return (output[:, 0] - target) ** 2

    loss = MemberLoss(per_sample, n_members=2, cross_fitted=True)
    output = torch.tensor([[[1.0], [2.0], [3.0]], [[4.0], [5.0], [6.0]]])
    output.requires_grad_(True)
    target = torch.zeros(3)
    weight = torch.tensor([1.0, 2.0, 1.0])
    fold = torch.tensor([0, 1, 0])  # member 0 holds out rows 0 and 2
    train = loss(output, target, weight, fold, training=True)
    # Member 0 trains on row 1, member 1 on rows 0 and 2: three (member, row)
    # pairs, one per row, so the mean is over the three rows.
    assert train.item() == pytest.approx((2 * 4 + 16 + 36) / 3)
    train.backward()
    gradient = output.grad[..., 0]
    assert gradient[0, 0] == gradient[0, 2] == 0  # member 0 never sees fold 0
    assert gradient[1, 1] == 0
    valid = loss(output.detach(), target, weight, fold, training=False)
    # Out of fold: rows 0 and 2 by member 0, row 1 by member 1.
    assert valid.item() == pytest.approx((1 + 2 * 25 + 9) / 3)
    picked = out_of_fold_outputs(output.detach(), fold)
    assert picked[:, 0].tolist() == [1.0, 5.0, 3.0]


def test_member_loss_without_folds_trains_every_member_on_every_row():
    loss = MemberLoss(lambda o, t: o[:, 0] - t, n_members=2, cross_fitted=False)
    output = torch.tensor([[[1.0], [3.0]], [[5.0], [7.0]]])
    value = loss(output, torch.zeros(2), torch.ones(2), torch.full((2,), -1),
                 training=True)  # fmt: skip
    assert value.item() == pytest.approx(4.0)  # the mean of all four


def test_cross_fitting_stops_on_out_of_fold_scores_from_every_row(ensemble_classifier):
    clf = ensemble_classifier
    # "auto" stops early with members even on 300 rows: no row is held out of
    # the ensemble, so the validation scores are over every row, out of fold.
    assert clf.validation_scores_ is not None
    assert 0.85 < clf.best_validation_score_ <= 1.0
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ in clf.validation_scores_


def test_members_without_early_stopping_train_on_every_row(cancer):
    X, y = cancer
    clf = AttentionMLPClassifier(
        n_members=2, early_stopping=False, **{**SMALL, "max_iter": 3}
    ).fit(X, y)
    assert clf.validation_scores_ is None
    assert clf.n_iter_ == 3


def test_same_random_state_same_ensemble(ensemble_classifier, cancer):
    X, y = cancer
    again = AttentionMLPClassifier(n_members=3, **SMALL).fit(X, y)
    np.testing.assert_array_equal(
        again.predict_proba(X[:50]), ensemble_classifier.predict_proba(X[:50])
    )


def test_too_few_rows_for_a_fold_per_member():
    X = np.arange(10.0).reshape(5, 2)
    y = np.array([0, 1, 0, 1, 0])
    clf = AttentionMLPClassifier(n_members=3, early_stopping=True, **SMALL)
    with pytest.raises(ValueError, match=r"n_members=3 .* at least 6 samples; got 5"):
        clf.fit(X, y)
    # "auto" does without folds there: every member trains on the five rows.
    auto = AttentionMLPClassifier(n_members=3, **{**SMALL, "max_iter": 2}).fit(X, y)
    assert auto.validation_scores_ is None


def test_attention_is_the_members_average():
    members = [_network(0), _network(1)]
    ensemble = MemberEnsemble(members, "probabilities").eval()
    with torch.no_grad():
        embedding, weights = ensemble.embed(_inputs(), return_weights=True)
        separate = [m.embed(_inputs(), return_weights=True) for m in members]
    assert embedding.shape == (5, 16)  # the members' embeddings side by side
    for block in range(2):
        expected = (separate[0][1]["main"][block] + separate[1][1]["main"][block]) / 2
        torch.testing.assert_close(weights["main"][block], expected)
        sums = weights["main"][block].sum(-1)
        torch.testing.assert_close(sums, torch.ones_like(sums))


def test_feature_importances_and_maps_of_an_ensemble(ensemble_classifier, cancer):
    X, _ = cancer
    clf = ensemble_classifier
    assert clf.feature_importances_.shape == (30,)
    assert clf.feature_importances_.sum() == pytest.approx(1.0)
    maps = clf.attention_maps(X[:3])
    assert maps.shape == (3, 1, 2, 31, 31)
    np.testing.assert_allclose(maps.sum(-1), 1.0, rtol=1e-5)


def test_pickle_and_model_files_keep_the_members(ensemble_classifier, cancer, tmp_path):
    X, _ = cancer
    expected = ensemble_classifier.predict_proba(X[:40])
    unpickled = pickle.loads(pickle.dumps(ensemble_classifier))
    np.testing.assert_array_equal(unpickled.predict_proba(X[:40]), expected)
    save_model(ensemble_classifier, tmp_path / "ensemble.skattn")
    loaded = load_model(tmp_path / "ensemble.skattn")
    assert len(loaded.module_.members) == 3
    np.testing.assert_array_equal(loaded.predict_proba(X[:40]), expected)


def test_onnx_export_of_an_ensemble(ensemble_classifier, cancer):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from skattn import export_onnx

    X, _ = cancer
    session = ort.InferenceSession(
        export_onnx(ensemble_classifier).SerializeToString(),
        providers=["CPUExecutionProvider"],
    )
    feeds = {f"x{j}": X[:25, [j]] for j in range(X.shape[1])}
    _, proba = session.run(None, feeds)
    np.testing.assert_allclose(
        proba, ensemble_classifier.predict_proba(X[:25]), atol=1e-5
    )


def test_partial_fit_trains_every_member_and_keeps_their_number(cancer):
    X, y = cancer
    clf = AttentionMLPClassifier(n_members=2, **SMALL)
    clf.partial_fit(X[:150], y[:150], classes=[0, 1])
    before = [m.output.weight.detach().clone() for m in clf.module_.members]
    clf.partial_fit(X[150:], y[150:])
    for member, old in zip(clf.module_.members, before, strict=True):
        assert not torch.equal(member.output.weight, old)
    clf.set_params(n_members=3)
    with pytest.raises(ValueError, match="n_members=3, but the fitted model has 2"):
        clf.partial_fit(X[:50], y[:50])


def test_warm_start_refuses_another_number_of_members(cancer):
    X, y = cancer
    clf = AttentionMLPClassifier(
        n_members=2, warm_start=True, **{**SMALL, "max_iter": 2}
    )
    clf.fit(X, y).set_params(n_members=1)
    with pytest.raises(ValueError, match="n_members=1, but the fitted model has 2"):
        clf.fit(X, y)


def test_a_pretrained_body_goes_into_every_member(cancer):
    X, y = cancer
    source = AttentionFeatureExtractor(**{**SMALL, "max_iter": 2}).fit(X)
    target = MemberEnsemble([_network(0), _network(1)], "mean")
    source_net = _network(2)
    copy_body_weights(source_net, target)
    body = {
        k: v
        for k, v in source_net.state_dict().items()
        if not k.startswith(HEAD_LAYERS)
    }
    for member in target.members:
        for name, tensor in member.state_dict().items():
            if name in body:
                torch.testing.assert_close(tensor, body[name])
    clf = AttentionMLPClassifier(
        n_members=2, pretrained=source, **{**SMALL, "max_iter": 2}
    ).fit(X, y)
    assert clf.score(X, y) > 0.6


def test_each_member_keeps_the_weights_of_its_own_best_epoch():
    from types import SimpleNamespace

    from skattn._batches import FOLD_KEY, WEIGHT_KEY
    from skattn._engine import BestMemberWeights

    members = [torch.nn.Linear(1, 1), torch.nn.Linear(1, 1)]
    callback = BestMemberWeights(
        members,
        per_sample_loss=lambda output, target: (output[:, 0] - target) ** 2,
        score=lambda output, target: -float(np.mean((output[:, 0] - target) ** 2)),
    ).initialize()
    net = SimpleNamespace(world_size=1)
    fold = torch.tensor([0, 1, 0, 1])
    batch = ({WEIGHT_KEY: torch.ones(4), FOLD_KEY: fold}, torch.zeros(4))

    def epoch(bias: float, member_outputs: list[float]) -> None:
        for member in members:
            torch.nn.init.constant_(member.bias, bias)  # marks the epoch's weights
        y_pred = torch.tensor(member_outputs)[:, None, None].expand(2, 4, 1)
        callback.on_epoch_begin(net)
        callback.on_batch_end(net, batch, training=False, y_pred=y_pred)
        callback.on_epoch_end(net)

    epoch(1.0, [0.1, 3.0])  # member 0 at its best, member 1 poor
    epoch(2.0, [0.5, 0.2])  # member 0 worse, member 1 at its best
    callback.on_train_end(net)
    assert members[0].bias.item() == 1.0
    assert members[1].bias.item() == 2.0
    # Rows of fold 0 scored by member 0 at epoch 1, of fold 1 by member 1 at 2.
    assert callback.best_score() == pytest.approx(-(0.1**2 + 0.2**2) / 2)


def test_members_run_only_on_the_rows_that_count_for_them():
    from skattn._batches import FOLD_KEY
    from skattn._members import MemberOutputs

    seen: list[list[float]] = []

    class Recorder(torch.nn.Module):
        def __init__(self, offset: float) -> None:
            super().__init__()
            self.offset = offset
            self.output = torch.nn.Linear(1, 1)  # its width is the outputs'

        def forward(self, inputs):
            seen.append(inputs["x"][:, 0].tolist())
            return inputs["x"] + self.offset

    ensemble = MemberEnsemble([Recorder(10.0), Recorder(20.0)], "mean")
    training = MemberOutputs(ensemble, cross_fitted=True)
    batch = {
        "x": torch.tensor([[0.0], [1.0], [2.0]]),
        FOLD_KEY: torch.tensor([0, 1, 1]),
    }
    outputs = training.train()(batch)
    assert seen == [[1.0, 2.0], [0.0]]  # member m skips fold m
    assert outputs[..., 0].tolist() == [[0.0, 11.0, 12.0], [20.0, 0.0, 0.0]]
    seen.clear()
    outputs = training.eval()(batch)
    assert seen == [[0.0], [1.0, 2.0]]  # and is scored on it
    assert out_of_fold_outputs(outputs, batch[FOLD_KEY])[:, 0].tolist() == [
        10.0, 21.0, 22.0,
    ]  # fmt: skip
    # A member with no row in the batch runs on none (a zero-gradient step, as in
    # data-parallel training, tests/distributed_fit.py).
    seen.clear()
    training.train()({**batch, FOLD_KEY: torch.tensor([0, 0, 0])})
    assert seen == [[], [0.0, 1.0, 2.0]]


def test_auto_trains_five_members_below_3000_rows_and_one_from_there():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 2))
    y = (X[:, 0] > 0).astype(int)
    quick = dict(
        n_members="auto", d_token=8, n_heads=2, n_blocks=1, max_iter=1, random_state=0
    )
    small = AttentionMLPClassifier(**quick).fit(X[:2999], y[:2999])
    assert small.n_members_ == 5 and len(small.module_.members) == 5
    large = AttentionMLPClassifier(**quick).fit(X, y)
    assert large.n_members_ == 1 and not isinstance(large.module_, MemberEnsemble)
    # A chunk of a stream says nothing of the data's size: one network.
    streamed = AttentionMLPClassifier(**quick).partial_fit(X[:100], y[:100], [0, 1])
    assert streamed.n_members_ == 1
    # A continued fit keeps its members under "auto", and its folds.
    warm = AttentionMLPClassifier(warm_start=True, **quick).fit(X[:200], y[:200])
    fold_seed = warm._fold_seed
    assert warm.fit(X, y).n_members_ == 5
    assert warm._fold_seed == fold_seed
    # Too few rows for five folds of two: one network, even with early stopping.
    tiny = AttentionMLPClassifier(early_stopping=True, **quick).fit(X[:9], y[:9])
    assert tiny.n_members_ == 1


def test_members_are_the_default_for_small_tables_not_for_sequences():
    rng = np.random.default_rng(0)
    y = np.arange(60) % 2
    quick = dict(d_token=8, n_heads=2, n_blocks=1, max_iter=1, random_state=0)
    assert AttentionMLPClassifier().n_members == "auto"
    table = AttentionMLPRegressor(**quick).fit(rng.normal(size=(60, 3)), y * 1.0)
    assert table.n_members_ == 5
    # Small sets of sequences get the narrower network of d_token="auto" instead.
    series = rng.normal(size=(60, 12, 2))
    assert AttentionMLPClassifier(**quick).fit(series, y).n_members_ == 1
    assert AttentionMLPClassifier(n_members=3, **quick).fit(series, y).n_members_ == 3


class TrainingBatchRows(Callback):
    """Records the rows of every training batch."""

    def initialize(self) -> TrainingBatchRows:
        self.rows: list[int] = []
        return self

    def on_batch_end(self, net, batch, training, **kwargs) -> None:
        if training:
            self.rows.append(len(batch[1]))


def test_auto_batches_cross_fitted_members_by_128_rows(cancer):
    X, y = cancer  # 300 rows
    one_epoch = {**SMALL, "max_iter": 1}
    members = TrainingBatchRows()
    AttentionMLPClassifier(n_members=2, callbacks=[members], **one_epoch).fit(X, y)
    assert members.rows == [128, 128, 44]
    # One network keeps about ten steps an epoch (270 rows after its hold-out
    # when early stopping is on; all 300 here).
    one = TrainingBatchRows()
    AttentionMLPClassifier(n_members=1, callbacks=[one], **one_epoch).fit(X, y)
    assert one.rows == [30] * 10
    # Members without cross-fitting keep the one-network rule.
    plain = TrainingBatchRows()
    AttentionMLPClassifier(
        n_members=2, early_stopping=False, callbacks=[plain], **one_epoch
    ).fit(X, y)
    assert plain.rows == [30] * 10
    # From 3,000 rows (where members were not measured) the one-network rule.
    X_large = np.tile(X, (10, 1))
    large = TrainingBatchRows()
    AttentionMLPClassifier(n_members=2, callbacks=[large], **one_epoch).fit(
        X_large, np.tile(y, 10)
    )
    assert large.rows == [256] * 11 + [184]
    # A batch_size given is a batch_size kept.
    given = TrainingBatchRows()
    AttentionMLPClassifier(
        n_members=2, batch_size=100, callbacks=[given], **one_epoch
    ).fit(X, y)
    assert given.rows == [100] * 3


def test_a_model_file_cannot_ask_for_millions_of_members(ensemble_classifier):
    import copy

    crafted = copy.copy(ensemble_classifier)
    crafted.n_members_ = 10**7
    with pytest.raises(ValueError, match=r"n_members_.*outside \[1, 1024\]"):
        crafted._check_state()


def test_a_pickle_of_before_ensembles_loads_as_one_network(cancer):
    X, y = cancer
    clf = AttentionMLPClassifier(**{**SMALL, "max_iter": 2, "n_members": 1}).fit(X, y)
    state = clf.__getstate__()
    del state["n_members"], state["n_members_"]  # as skattn wrote them before
    del state["n_threads"]
    old = AttentionMLPClassifier.__new__(AttentionMLPClassifier)
    old.__setstate__(state)
    assert old.n_members_ == 1 and old.get_params()["n_members"] == 1
    assert old.n_threads is None  # its fits took torch's thread count
    np.testing.assert_array_equal(old.predict_proba(X[:20]), clf.predict_proba(X[:20]))


def test_latent_token_ensembles_average_each_members_cls_attention(cancer):
    from skattn._explanations import cls_attention

    X, y = cancer
    clf = AttentionMLPClassifier(
        n_members=2, n_latent_tokens=4, **{**SMALL, "n_blocks": 2, "max_iter": 2}
    ).fit(X, y)
    batch = {k: torch.from_numpy(v[:6]) for k, v in clf._input.transform(X).items()}
    with torch.no_grad():
        separate = [
            cls_attention(member.embed(batch, return_weights=True)[1])["main"]
            for member in clf.module_.members
        ]
        # Not the rollout of the averaged maps: each member's own, then the mean.
        combined = clf._cls_attention(batch, value_norm=False)["main"]
    torch.testing.assert_close(combined, (separate[0] + separate[1]) / 2)
    with torch.no_grad():
        _, averaged = clf.module_.embed(batch, return_weights=True)
    assert not torch.allclose(cls_attention(averaged)["main"], combined)
