"""
==========================================
Classifying sequences of different lengths
==========================================

The same estimators learn from time series: pass a list of
``(n_steps_i, n_channels)`` arrays, one per sample, of any lengths (or a 3-D array
``(n_samples, n_steps, n_channels)``). Each patch of ``patch_size`` consecutive
steps becomes a token with a position code, and the padding after a short
sequence is masked out of attention.

In this synthetic task every series has two channels of noise and a bump in the
first channel; the label says whether the bump comes in the first or the second
half of the series. Each series' mean, spread and peak are the same for both
labels, so a model must use *where* things happen.
"""

# %%
# Synthetic series
# ----------------
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from skattn import AttentionMLPClassifier
from skattn.plotting import plot_sequence_attention

# The examples train for few epochs to stay fast; skattn then warns that training
# stopped before the loss settled.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

rng = np.random.default_rng(0)


def make_series(n_series):
    series, labels = [], []
    for _ in range(n_series):
        n_steps = rng.integers(40, 101)
        late = rng.random() < 0.5
        center = rng.uniform(0.55, 0.9) if late else rng.uniform(0.1, 0.45)
        steps = np.arange(n_steps)
        bump = 3 * np.exp(-0.5 * ((steps - center * n_steps) / 3) ** 2)
        values = rng.normal(0, 0.5, (n_steps, 2))
        values[:, 0] += bump
        series.append(values)
        labels.append("late" if late else "early")
    return series, np.array(labels)


X, y = make_series(400)
print("lengths from", min(map(len, X)), "to", max(map(len, X)), "steps")
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

# %%
# Fit and score
# -------------
clf = AttentionMLPClassifier(d_token=32, max_iter=30, random_state=0)
clf.fit(X_train, y_train)
print(f"test accuracy: {clf.score(X_test, y_test):.3f}")
names = clf.token_names_
print(f"{len(names)} tokens:", ", ".join(names[:3]), "...", names[-1])


# %%
# A model on summary statistics (mean, standard deviation and maximum of each
# channel) sees the same numbers for both labels and is left guessing:
def summary(series):
    return np.array([np.r_[s.mean(0), s.std(0), s.max(0)] for s in series])


baseline = LogisticRegression().fit(summary(X_train), y_train)
print(f"summary statistics: {baseline.score(summary(X_test), y_test):.3f}")

# %%
# Where the prediction looked
# ---------------------------
# :func:`~skattn.plotting.plot_sequence_attention` draws one series and, below it,
# the CLS token's attention over its steps (each patch's weight spread over its
# steps).
axes = plot_sequence_attention(clf, X_test[:1])
axes[0].legend(["channel 0 (bump)", "channel 1 (noise)"], loc="upper right")
axes[0].figure.suptitle(f"label: {y_test[0]}, predicted: {clf.predict(X_test[:1])[0]}")
plt.show()
