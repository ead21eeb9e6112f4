"""
======================================================
Classifying a table with categories and missing values
======================================================

:class:`~skattn.AttentionMLPClassifier` takes a :class:`pandas.DataFrame` as it
is: numerical columns, ``category`` columns, plain string columns and missing
values in any of them. There is no imputation or one-hot encoding step: every
column becomes one token, categorical columns through a learned embedding table,
and a missing value through a learned "missing" token.

The data are synthetic, so that we know what the model should find: whether a
customer stays depends on their age and their plan together (an interaction), on
the number of support calls, and not at all on the city.
"""

# %%
# A table of mixed columns
# ------------------------
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skattn import AttentionMLPClassifier

# The examples train for few epochs to stay fast; skattn then warns that training
# stopped before the loss settled.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

rng = np.random.default_rng(0)
n = 1000
X = pd.DataFrame(
    {
        "age": rng.normal(45, 12, n).round(),
        "support_calls": rng.poisson(2, n).astype(float),
        "plan": pd.Categorical(rng.choice(["basic", "plus", "pro"], n)),
        "city": rng.choice(["Oslo", "Rome", "Lima", "Pune"], n),  # plain strings
    }
)
score = np.where(X["plan"] == "pro", X["age"] - 45, 45 - X["age"]) / 12
score = score - 0.6 * (X["support_calls"] - 2) + rng.normal(0, 0.5, n)
y = np.where(score > 0, "stays", "leaves")

# Knock out about 10% of the ages and plans: skattn learns what a gap means.
X.loc[rng.random(n) < 0.1, "age"] = np.nan
X.loc[rng.random(n) < 0.1, "plan"] = np.nan
X.head()

# %%
# Fit and score
# -------------
# ``early_stopping=True`` stops each of the five networks that
# ``n_members="auto"`` trains on these 750 rows on the fold of rows it holds out,
# and keeps its weights of the epoch with the lowest loss there.
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
clf = AttentionMLPClassifier(
    d_token=32, max_iter=80, early_stopping=True, random_state=0
).fit(X_train, y_train)

print(f"test accuracy: {clf.score(X_test, y_test):.3f}")
print("classes:", clf.classes_)
print(
    "categorical:",
    dict(zip(clf.feature_names_in_, clf.is_categorical_.tolist(), strict=True)),
)

# %%
# For comparison: a model that always predicts the most frequent class, and
# scikit-learn's gradient-boosted trees with native categorical support (which
# need the string column as a ``category`` dtype).
dummy = DummyClassifier().fit(X_train, y_train)
print(f"majority class: {dummy.score(X_test, y_test):.3f}")

as_categories = {"city": "category"}
trees = HistGradientBoostingClassifier(
    categorical_features="from_dtype", random_state=0
)
trees.fit(X_train.astype(as_categories), y_train)
accuracy = trees.score(X_test.astype(as_categories), y_test)
print(f"HistGradientBoostingClassifier: {accuracy:.3f}")

# %%
# Categories and gaps it has never seen
# -------------------------------------
# A city that was not in the training data maps to the column's "unknown"
# embedding, and a missing value to its "missing" token: neither is an error.
new_rows = pd.DataFrame(
    {
        "age": [30.0, np.nan],
        "support_calls": [1.0, 6.0],
        "plan": pd.Categorical(["pro", None], categories=["basic", "plus", "pro"]),
        "city": ["Paris", "Oslo"],
    }
)
print(pd.DataFrame(clf.predict_proba(new_rows), columns=clf.classes_).round(3))

# %%
# Training curves
# ---------------
# ``loss_curve_`` holds the training loss of each epoch, ``validation_scores_``
# the accuracy on the held-out rows.
fig, (ax_loss, ax_score) = plt.subplots(1, 2, figsize=(8, 3), layout="constrained")
ax_loss.plot(clf.loss_curve_)
ax_loss.set(xlabel="epoch", ylabel="training loss (log-loss)")
ax_score.plot(clf.validation_scores_)
ax_score.set(xlabel="epoch", ylabel="validation accuracy")
fig.suptitle(f"AttentionMLPClassifier, {clf.n_iter_} epochs")
plt.show()
