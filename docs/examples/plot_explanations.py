"""
=========================
What the model attends to
=========================

The output layer of a skattn network reads one vector: the final state of the CLS
token. Where the CLS token attends is therefore where the prediction looked. This
example shows the three views skattn gives of it, on scikit-learn's bundled wine
data (178 wines, 13 chemical measurements, 3 cultivars):

- ``feature_importances_``: the CLS token's attention to each column, averaged
  over blocks, heads and training rows (the measure of the FT-Transformer paper);
- :meth:`~skattn.AttentionMLPClassifier.feature_attention`: the same per row;
- :meth:`~skattn.AttentionMLPClassifier.attention_maps`: every weight of every
  block and head.

Attention says where the model looked, not how much a value moves the prediction;
:func:`~sklearn.inspection.permutation_importance` measures the latter, and the
last section compares the two.
"""

# %%
# Fit a classifier
# ----------------
import warnings

import matplotlib.pyplot as plt
import pandas as pd
from scipy.stats import spearmanr
from sklearn.datasets import load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.inspection import permutation_importance
from sklearn.model_selection import train_test_split

from skattn import AttentionMLPClassifier
from skattn.plotting import plot_attention_map, plot_feature_importances

# The examples train for few epochs to stay fast; skattn then warns that training
# stopped before the loss settled.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = load_wine(return_X_y=True, as_frame=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
clf = AttentionMLPClassifier(d_token=32, max_iter=40, random_state=0)
clf.fit(X_train, y_train)
print(f"test accuracy: {clf.score(X_test, y_test):.3f}")

# %%
# Feature importances
# -------------------
# :func:`~skattn.plotting.plot_feature_importances` draws ``feature_importances_``
# as a bar chart, the most attended column at the top. The values sum to one.
ax = plot_feature_importances(clf)
ax.figure.tight_layout()
plt.show()

# %%
# Per row
# -------
# ``feature_attention`` gives one row of weights per sample, each summing to one,
# in the order of the columns of ``X``.
per_row = pd.DataFrame(clf.feature_attention(X_test[:3]), columns=X.columns)
print(per_row.round(2).T)

# %%
# One row's attention, block by block
# -----------------------------------
# :func:`~skattn.plotting.plot_attention_map` shows, for one sample, the CLS
# token's attention to every token in each block and head.
ax = plot_attention_map(clf, X_test.iloc[[0]])
ax.figure.tight_layout()
plt.show()

# %%
# Attention against permutation importance
# ----------------------------------------
# Permutation importance shuffles one column at a time on the test rows and
# measures the drop in accuracy. The two rankings need not agree; skattn's
# explanation benchmark (:ref:`benchmarks`) measured a moderate agreement on
# average, best where the model is accurate.
permutation = permutation_importance(
    clf, X_test, y_test, n_repeats=5, random_state=0
).importances_mean
rho = spearmanr(clf.feature_importances_, permutation).statistic
print(f"Spearman rank correlation: {rho:+.2f}")

fig, ax = plt.subplots(figsize=(5, 4), layout="constrained")
ax.scatter(clf.feature_importances_, permutation)
for name, a, p in zip(X.columns, clf.feature_importances_, permutation, strict=True):
    ax.annotate(name, (a, p), fontsize=7, alpha=0.8)
ax.set(
    xlabel="feature_importances_ (attention)",
    ylabel="permutation importance (accuracy drop)",
    title=f"Spearman {rho:+.2f}",
)
plt.show()
