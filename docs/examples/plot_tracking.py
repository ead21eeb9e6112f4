"""
=======================================
Tracking a fit with MLflow, stopping it
=======================================

skattn's ``callbacks`` parameter takes skorch callbacks, so skorch's own
``MlflowLogger`` records every epoch of a fit in an MLflow run, beside skattn's
schedule, early stopping and best-epoch restore. Here the run goes to a local
folder (MLflow's file store), a plain callable stops training once the held-out
accuracy is high enough, and the curves are read back from MLflow. See
:ref:`tracking`.
"""

# %%
import os
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import mlflow
from mlflow.tracking import MlflowClient
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from skorch.callbacks import MlflowLogger

from skattn import AttentionMLPClassifier

X, y = load_breast_cancer(return_X_y=True, as_frame=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)

# %%
# A run in a local folder
# -----------------------
# MLflow 3 asks for a database backend by default; a folder is enough here.
os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
folder = Path(tempfile.mkdtemp()) / "mlruns"
client = MlflowClient(tracking_uri=folder.as_uri())
run = client.create_run(client.create_experiment("breast_cancer"))

# %%
# Fitting with a logger and a stopping rule
# -----------------------------------------
# The callable sees each epoch's record; returning True ends training after that
# epoch, and the best epoch's weights are restored as after early stopping.


def good_enough(record):
    return record.get("valid_score", 0.0) >= 0.99


clf = AttentionMLPClassifier(
    d_token=16,
    n_blocks=1,
    max_iter=60,
    early_stopping=True,
    random_state=0,
    callbacks=[MlflowLogger(run, client, create_artifact=False), good_enough],
).fit(X_train, y_train)
print(f"{clf.n_iter_} epochs, test accuracy {clf.score(X_test, y_test):.3f}")

# %%
# What the run holds
# ------------------
# Every epoch's training and validation loss and the validation accuracy, read
# back from MLflow.
fig, (ax_loss, ax_score) = plt.subplots(1, 2, figsize=(9, 3.5))
for key in ("train_loss", "valid_loss"):
    history = client.get_metric_history(run.info.run_id, key)
    ax_loss.plot([m.step for m in history], [m.value for m in history], label=key)
ax_loss.set(xlabel="epoch", ylabel="log loss")
ax_loss.legend()
scores = client.get_metric_history(run.info.run_id, "valid_score")
ax_score.plot([m.step for m in scores], [m.value for m in scores])
ax_score.set(xlabel="epoch", ylabel="held-out accuracy")
fig.tight_layout()

# %%
# Autologging
# -----------
# With ``mlflow.sklearn.autolog()`` on, a skattn fit logs itself as MLflow logs
# scikit-learn's estimators: its parameters, the per-epoch curves under their
# metric names, and ``training_score``, in a run of its own (or the active one).
mlflow.set_tracking_uri(folder.as_uri())
mlflow.sklearn.autolog(log_models=False, log_datasets=False, silent=True)
AttentionMLPClassifier(
    d_token=16, n_blocks=1, max_iter=10, early_stopping=True, random_state=0
).fit(X_train, y_train)
mlflow.sklearn.autolog(disable=True)

logged = mlflow.last_active_run()
print("parameters:", {k: logged.data.params[k] for k in ("d_token", "max_iter")})
print("metrics:", sorted(logged.data.metrics))
