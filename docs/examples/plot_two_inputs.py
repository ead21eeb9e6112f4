"""
======================================
Two inputs per sample: cross-attention
======================================

Some samples come as two inputs of different shapes: a customer's attributes and
their history, a patient's record and their measurements. Wrapped in
:class:`~skattn.TwoInputs`, both go through scikit-learn's API together; inside
the network, the tokens of the ``main`` input (and the CLS token that makes the
prediction) attend to the tokens of the ``context`` input by cross-attention.

In this synthetic task the main input is a table with one categorical column,
``day``, and the context a history of 8 days of 2 channels. The label is the sign
of channel 0 *on the day that the table names*: neither input alone gives it.
"""

# %%
# Two inputs
# ----------
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skattn import AttentionMLPClassifier, TwoInputs

# The examples train for few epochs to stay fast; skattn then warns that training
# stopped before the loss settled.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

rng = np.random.default_rng(0)
n, n_days = 1000, 8
day = rng.integers(0, n_days, n)
history = rng.normal(size=(n, n_days, 2))  # (samples, steps, channels)
y = np.where(history[np.arange(n), day, 0] > 0, "up", "down")
table = pd.DataFrame({"day": pd.Categorical([f"day {d}" for d in day])})

X = TwoInputs(table, history)
# TwoInputs indexes by sample, so scikit-learn splits both inputs together.
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
print(X_train, X_test)

# %%
# Fit and score
# -------------
# With a context input, ``n_blocks`` self-attention blocks run on each input, then
# ``n_cross_blocks`` cross-attention blocks let the main tokens attend to the
# context tokens. For comparison, the same classifier on the history alone.
params = dict(d_token=32, max_iter=40, random_state=0)
cross = AttentionMLPClassifier(**params).fit(X_train, y_train)
history_only = AttentionMLPClassifier(**params).fit(X_train.context, y_train)
print(f"TwoInputs(table, history): {cross.score(X_test, y_test):.3f}")
print(f"history alone: {history_only.score(X_test.context, y_test):.3f}")

# %%
# What the CLS token read
# -----------------------
# With two inputs, :meth:`~skattn.AttentionMLPClassifier.feature_attention`
# returns a dict; its ``"context"`` part is the CLS token's cross-attention to
# each day of the history, averaged over blocks and heads. Averaged again over
# the test samples that name each day, it should put its weight on the day the
# table names: the diagonal.
attention = cross.feature_attention(X_test)["context"]  # (n_test, n_days)
test_day = X_test.main["day"].cat.codes.to_numpy()
per_day = np.stack([attention[test_day == d].mean(axis=0) for d in range(n_days)])

fig, ax = plt.subplots(figsize=(5, 4), layout="constrained")
image = ax.imshow(per_day, cmap="viridis")
ax.set(
    xlabel="day of the history (context token)",
    ylabel="day named by the table",
    xticks=range(n_days),
    yticks=range(n_days),
)
fig.colorbar(image, label="mean cross-attention of the CLS token")
plt.show()

# %%
# :meth:`~skattn.AttentionMLPClassifier.attention_maps` keeps every weight, in
# three stacks: each input's self-attention and the cross-attention, whose tokens
# are named by ``token_names_``.
maps = cross.attention_maps(X_test[:5])
for name, weights in maps.items():
    print(f"{name:>7}: {weights.shape}")
print("context tokens:", list(cross.token_names_["context"]))
