"""
=============================================
Prediction intervals from quantile regression
=============================================

:class:`~skattn.AttentionMLPRegressor` with ``loss="quantile"`` learns several
quantiles of the target at once, from one model (one network, or below 3,000 rows
five cross-fitted networks, each learning every quantile). Here it learns the 10%,
50% and 90% quantiles of a target whose noise is ten times wider on one side of a
feature, so a good interval must widen there; then the interval is calibrated on
held-out rows by conformalised quantile regression (Romano et al., 2019) so that it
covers 80% of new targets. See :ref:`quantiles`.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split

from skattn import AttentionMLPRegressor

rng = np.random.default_rng(0)
X = rng.uniform(-2, 2, size=(2400, 3))
noise = np.where(X[:, 1] > 0, 1.0, 0.1)  # wide where x1 > 0, narrow elsewhere
y = X[:, 0] + noise * rng.normal(size=len(X))

X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
X_fit, X_cal, y_fit, y_cal = train_test_split(X_train, y_train, random_state=0)

# %%
# Three quantiles, one model
# --------------------------
# ``quantile=[0.1, 0.9]`` asks for two quantiles; the median is learned with them
# and is what ``predict`` returns. ``predict_quantiles`` returns all three, sorted
# within each row so that they never cross.
reg = AttentionMLPRegressor(
    loss="quantile", quantile=[0.1, 0.9], d_token=16, n_blocks=1, random_state=0
)
reg.fit(X_fit, y_fit)
print("quantiles:", reg.quantiles_)
low, median, high = reg.predict_quantiles(X_test).T
inside = (y_test >= low) & (y_test <= high)
print(f"coverage of the fitted 80% interval: {inside.mean():.3f}")

# %%
# Calibrating the interval
# ------------------------
# How far do held-out targets fall outside the interval? Its 80% quantile (with
# the finite-sample correction) is the margin to add to both ends.
cal_low, _, cal_high = reg.predict_quantiles(X_cal).T
outside = np.maximum(cal_low - y_cal, y_cal - cal_high)
level = np.ceil((len(y_cal) + 1) * 0.8) / len(y_cal)
margin = np.quantile(outside, level, method="higher")
calibrated = (y_test >= low - margin) & (y_test <= high + margin)
print(f"margin: {margin:+.3f}; coverage after calibration: {calibrated.mean():.3f}")

# %%
# The interval follows the noise
# ------------------------------
# Plotted against x1, the feature that sets the noise: the interval (around the
# median, which follows x0) is narrow for x1 < 0 and wide for x1 > 0.
order = np.argsort(X_test[:, 1])
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.scatter(X_test[:, 1], y_test - median, s=4, color="0.6", label="target - median")
ax.fill_between(
    X_test[order, 1],
    (low - margin - median)[order],
    (high + margin - median)[order],
    alpha=0.3,
    label="calibrated 80% interval",
)
ax.set_xlabel("x1")
ax.set_ylabel("around the median")
ax.legend(loc="upper left")
fig.tight_layout()
plt.show()
