"""
=========================================
Multi-label classification with one model
=========================================

:class:`~skattn.AttentionMLPClassifier` learns a binary indicator matrix (each row
may carry any number of labels) with one model (on these 1,347 training rows, five
cross-fitted networks, each predicting every label): the labels share the tokens
and the attention, and each has its own sigmoid. Here the labels are four properties of
a handwritten digit (even, five or more, prime, a multiple of 3) and the features its
8x8 pixels. See :ref:`multi_output`.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.metrics import f1_score, hamming_loss
from sklearn.model_selection import train_test_split

from skattn import AttentionMLPClassifier

digits = load_digits()
digit = digits.target
Y = np.column_stack(
    [digit % 2 == 0, digit >= 5, np.isin(digit, [2, 3, 5, 7]), digit % 3 == 0]
).astype(int)
labels = ["even", "five or more", "prime", "multiple of 3"]
X_train, X_test, Y_train, Y_test = train_test_split(
    digits.data, Y, test_size=0.25, random_state=0, stratify=digit
)
print("rows with 0, 1, 2, 3 labels:", np.bincount(Y.sum(axis=1)))

# %%
# Fitting a 2-D target
# --------------------
# ``fit`` recognises the indicator matrix; ``classes_`` then holds each label's
# classes and ``predict`` returns a matrix like ``Y``. A small network (with a
# higher learning rate than the default) keeps this example fast.
clf = AttentionMLPClassifier(
    d_token=16, n_blocks=1, max_iter=40, learning_rate=3e-3, random_state=0
)
clf.fit(X_train, Y_train)
Y_pred = clf.predict(X_test)
print("classes_:", [c.tolist() for c in clf.classes_])
print("per-label accuracy:", np.round((Y_pred == Y_test).mean(axis=0), 3))
print(f"Hamming loss: {hamming_loss(Y_test, Y_pred):.3f}")
print(f"subset accuracy (score): {clf.score(X_test, Y_test):.3f}")
# a digit 1 has none of the four properties: an empty prediction is then right
f1 = f1_score(Y_test, Y_pred, average="samples", zero_division=1.0)
print(f"samples-averaged F1: {f1:.3f}")

# %%
# Each label's probability
# ------------------------
# ``predict_proba`` returns one ``(n, 2)`` array per label, as scikit-learn's
# multi-output classifiers do; column 1 is the probability that the label is on.
# Below, four test digits with the probability of each of their labels.
proba = np.column_stack([p[:, 1] for p in clf.predict_proba(X_test)])
fig, axes = plt.subplots(1, 4, figsize=(10, 3))
for ax, row in zip(axes, range(4), strict=True):
    ax.imshow(X_test[row].reshape(8, 8), cmap="gray_r")
    ax.set_xticks([])
    ax.set_yticks([])
    lines = [f"{name}: {p:.2f}" for name, p in zip(labels, proba[row], strict=True)]
    ax.set_title("\n".join(lines), fontsize=8)
fig.tight_layout()

# %%
# Where the network looked
# ------------------------
# The labels share one attention, so ``feature_importances_`` (the attention the
# prediction token pays to each pixel, averaged over held-out rows, blocks and
# heads) shows the pixels all four labels were read from.
fig, ax = plt.subplots(figsize=(3.5, 3.5))
image = ax.imshow(clf.feature_importances_.reshape(8, 8), cmap="viridis")
ax.set_title("attention per pixel")
ax.set_xticks([])
ax.set_yticks([])
fig.colorbar(image, ax=ax, shrink=0.8)
plt.show()
