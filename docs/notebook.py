# %% [markdown]
# # retain from a notebook
#
# A synthetic world, a model, scores and two lists, all through `import retain`: the same code
# paths as the `retain` commands, time passed as an argument. Run it as a script
# (`.venv/bin/python docs/notebook.py [FOLDER]`) or open it in Jupyter or VS Code, which read
# the `# %%` cells. `tests/test_notebook.py` runs it, so it stays true.
#
# Everything goes to one working folder (default `runs/notebook`): the data, `RETAIN_HOME`
# and the MLflow store, so the example never touches your own registry.

# %%
import sys
from pathlib import Path

import retain

work = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/notebook")
settings = retain.settings(
    home=work / ".retain", mlflow_tracking_uri=f"sqlite:///{work.resolve()}/mlflow/mlflow.db"
)

# %% [markdown]
# ## A small synthetic world
# 1,000 customers over two years; the same seed gives the same tables.

# %%
counts = retain.generate(work / "data", customers=1_000, days=730, seed=0)
print(counts)

# %% [markdown]
# ## Load, look at the features
# `load` validates the tables into the warehouse (unusable rows are set aside with reasons);
# `features` gives the point-in-time features at a cutoff: only events before it count.

# %%
loaded = retain.load(work / "data", settings=settings)
print([report.line() for report in loaded.reports])
frame = retain.features(as_of="2025-06-01", settings=settings)
print(frame[["customer_id", "orders_90d", "days_since_last_order"]].head())

# %% [markdown]
# ## Train, then load the champion back from the registry

# %%
outcome = retain.train(settings=settings)
print(f"version {outcome.version}: {outcome.decision.reason}")
print(outcome.result.metrics["model"])
champion = retain.load_champion(settings=settings)
assert champion.version == outcome.version

# %% [markdown]
# ## Score at a date, and pull the lists
# `scored_at` is recorded with the scores (default: the cutoff itself).

# %%
result = retain.score(as_of="2026-01-01", settings=settings, scored_at="2026-01-01 06:00")
scores = result.frame()
print(f"{result.scored} scored, {result.lapsed} lapsed; tiers {result.risk_tiers}")
risk = retain.risk_list(settings=settings, top=200, out=work / "risk_list.csv")
due = retain.due_list(within_days=30, settings=settings, top=200)
print(risk[["rank", "customer_id", "group", "churn_probability", "value_at_risk"]].head())
print(f"risk list {len(risk)} rows, due list {len(due)} rows")
