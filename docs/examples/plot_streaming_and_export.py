"""
=============================================================
Streaming a fit in chunks, then serving it without pickle
=============================================================

When the training data does not fit in memory, read it chunk by chunk and feed
each chunk to :meth:`~skattn.AttentionMLPClassifier.partial_fit`: one call is one
epoch over its chunk, and the optimizer's state carries over from call to call.
Here a synthetic data set stands in for a large file, split into four chunks, and
the streamed model is compared, pass after pass, with an ordinary in-memory
:meth:`~skattn.AttentionMLPClassifier.fit`.

The fitted model is then written with :func:`skattn.save_model`, which stores
no pickle (a JSON config, safetensors weights and skops state), and read back
with :func:`skattn.load_model`, as a serving process would.
"""

# %%
import os
import tempfile
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skattn import AttentionMLPClassifier, load_model, save_model

warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = make_classification(
    n_samples=3000, n_features=10, n_informative=6, random_state=0
)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
params = dict(d_token=16, n_blocks=1, random_state=0)

# %%
# Streaming
# ---------
# The first call learns the input encoding (here the quantile scaling) from its
# chunk, so the chunks are random samples of the rows, and it needs ``classes``,
# every label that any chunk may hold.
rng = np.random.default_rng(0)
streamed = AttentionMLPClassifier(**params)
accuracy_per_pass = []
for _ in range(10):
    for rows in np.array_split(rng.permutation(len(X_train)), 4):
        streamed.partial_fit(X_train[rows], y_train[rows], classes=[0, 1])
    accuracy_per_pass.append(streamed.score(X_test, y_test))

# The same number of epochs over the same rows, in memory, with one network as
# ``partial_fit`` trains (``fit`` would train five below 3,000 rows).
in_memory = AttentionMLPClassifier(**params, max_iter=10, n_members=1).fit(
    X_train, y_train
)
print(f"streamed, 10 passes of 4 chunks: {accuracy_per_pass[-1]:.3f}")
print(f"in memory, {in_memory.n_iter_} epochs: {in_memory.score(X_test, y_test):.3f}")

fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(range(1, 11), accuracy_per_pass, marker="o", label="partial_fit, per pass")
ax.axhline(in_memory.score(X_test, y_test), color="gray", ls="--", label="fit")
ax.set_xlabel("passes over the chunks")
ax.set_ylabel("test accuracy")
ax.legend()
fig.tight_layout()

# %%
# Saving without pickle
# ---------------------
# ``load_model`` rebuilds only skops' trusted types and the few skattn classes
# that hold a model's state; the loaded model predicts exactly as the saved one.
path = os.path.join(tempfile.mkdtemp(), "streamed.skattn")
save_model(streamed, path)
served = load_model(path, device="cpu")
same = np.array_equal(served.predict_proba(X_test), streamed.predict_proba(X_test))
print(f"{os.path.getsize(path) / 1e3:.0f} kB on disk; same predictions: {same}")
