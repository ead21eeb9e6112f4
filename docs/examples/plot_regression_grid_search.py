"""
==============================================
Regression in a pipeline, tuned by grid search
==============================================

skattn's estimators are ordinary scikit-learn estimators, so they compose with
scikit-learn's tools: here :class:`~skattn.AttentionMLPRegressor` is the last step
of a :class:`~sklearn.pipeline.Pipeline` that first selects features, and
:class:`~sklearn.model_selection.GridSearchCV` tunes a parameter of each step
with the usual ``step__parameter`` names.

The data set is scikit-learn's bundled diabetes data: 442 patients, 10 numerical
features, and a measure of disease progression one year later as the target.
"""

# %%
import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_selection import SelectKBest, f_regression
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline

from skattn import AttentionMLPRegressor

# The examples train for few epochs to stay fast; skattn then warns that training
# stopped before the loss settled.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = load_diabetes(return_X_y=True, as_frame=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

# %%
# A pipeline and a grid
# ---------------------
# The regressor standardises the target internally and maps its predictions back
# to the original units, so the pipeline needs no target transformer.
pipeline = Pipeline(
    [
        ("select", SelectKBest(f_regression)),
        ("model", AttentionMLPRegressor(d_token=32, max_iter=30, random_state=0)),
    ]
)
grid = {"select__k": [4, 10], "model__n_blocks": [1, 2]}
search = GridSearchCV(pipeline, grid, cv=3).fit(X_train, y_train)

results = search.cv_results_
for params, mean, std in zip(
    results["params"],
    results["mean_test_score"],
    results["std_test_score"],
    strict=True,
):
    print(f"{params}: R2 = {mean:.3f} +/- {std:.3f}")
print("best:", search.best_params_)

# %%
# Test scores
# -----------
# ``GridSearchCV`` refits the best pipeline on all training rows. A
# cross-validated ridge regression on the same split gives a reference point.
ridge = RidgeCV().fit(X_train, y_train)
print(f"pipeline with AttentionMLPRegressor: R2 = {search.score(X_test, y_test):.3f}")
print(f"RidgeCV: R2 = {ridge.score(X_test, y_test):.3f}")

# %%
# The fitted pipeline's feature selector tells which columns the model saw.
selected = search.best_estimator_["select"].get_feature_names_out()
print("columns used:", list(selected))

fig, ax = plt.subplots(figsize=(4.5, 4), layout="constrained")
ax.scatter(y_test, search.predict(X_test), s=12, label="AttentionMLPRegressor")
ax.scatter(y_test, ridge.predict(X_test), s=12, marker="x", label="RidgeCV")
lims = [y.min(), y.max()]
ax.plot(lims, lims, color="grey", linewidth=1)
ax.set(xlabel="true progression", ylabel="predicted progression")
ax.legend()
plt.show()
