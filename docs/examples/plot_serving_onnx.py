"""
================================
Serving a model with onnxruntime
================================

:func:`~skattn.export_onnx` writes a fitted estimator's whole predict path as one
ONNX graph: the scaling of the numbers, missing values, the categories (unseen
ones included), the network and the probabilities. Here a classifier trained on a
table of numbers and strings is served by onnxruntime, which needs neither Python
nor skattn, and its answers are compared with skattn's own. See :ref:`tracking`.
"""

# %%
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import onnxruntime
import pandas as pd

from skattn import AttentionMLPClassifier, export_onnx

rng = np.random.default_rng(0)
n = 600
customers = pd.DataFrame(
    {
        "age": rng.integers(18, 80, n).astype(float),
        "monthly_spend": rng.lognormal(3, 1, n),
        "plan": rng.choice(["basic", "plus", "family"], n),
        "region": rng.choice(["north", "south", "east", "west"], n),
    }
)
churn = (customers["monthly_spend"] < 15) ^ (customers["plan"] == "family")
customers.loc[rng.random(n) < 0.1, "monthly_spend"] = np.nan  # missing values
customers.loc[rng.random(n) < 0.05, "region"] = None

clf = AttentionMLPClassifier(d_token=32, max_iter=10, random_state=0)
clf.fit(customers, churn)

# %%
# One file, one graph
# -------------------
# Each column becomes an input named after it: numbers as double, categories as
# strings. The graph answers with the predicted label and the probabilities.
path = Path(tempfile.mkdtemp()) / "churn.onnx"
export_onnx(clf, path)
session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
for value in session.get_inputs():
    print(f"input  {value.name:14} {value.type:16} {value.shape}")
for value in session.get_outputs():
    print(f"output {value.name:14} {value.type:16} {value.shape}")


# %%
# New customers, as a serving process sees them
# ---------------------------------------------
# Missing numbers are NaN, missing categories the empty string; a region the
# model never saw is read as unknown, as ``predict`` reads it.
def as_feed(frame):
    return {
        "age": frame[["age"]].to_numpy("float64"),
        "monthly_spend": frame[["monthly_spend"]].to_numpy("float64"),
        "plan": frame[["plan"]].fillna("").to_numpy(object),
        "region": frame[["region"]].fillna("").to_numpy(object),
    }


new = customers.sample(200, random_state=1).reset_index(drop=True)
new.loc[:9, "region"] = "offshore"  # unseen in fit
label, probabilities = session.run(None, as_feed(new))
difference = np.abs(probabilities - clf.predict_proba(new)).max()
print(f"largest difference from predict_proba: {difference:.1e}")
print(f"same labels: {(label == clf.predict(new)).all()}")

# %%
# One request at a time
# ---------------------
# A served model often answers one row per request, where onnxruntime's small
# per-call cost shows.
one = new.iloc[[0]]
start = time.perf_counter()
for _ in range(50):
    clf.predict_proba(one)
skattn_ms = (time.perf_counter() - start) / 50 * 1e3
feed = as_feed(one)
start = time.perf_counter()
for _ in range(50):
    session.run(None, feed)
onnx_ms = (time.perf_counter() - start) / 50 * 1e3
print(f"one row: skattn {skattn_ms:.1f} ms, onnxruntime {onnx_ms:.2f} ms")

fig, ax = plt.subplots(figsize=(4, 4))
ax.scatter(clf.predict_proba(new)[:, 1], probabilities[:, 1], s=8)
ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8)
ax.set(xlabel="skattn predict_proba", ylabel="onnxruntime", title="P(churn)")
fig.tight_layout()
