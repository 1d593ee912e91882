# retain: `make demo` and `make test` install what they need (uv from PyPI, then the locked env).
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := python3.11
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
VENV := .venv
PY := $(VENV)/bin/python

.DEFAULT_GOAL := help
.PHONY: help install spark java browser demo test test-fast lint format serve screenshots bento image mlflow-ui monitor-ui bench docs wheel clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.synced: pyproject.toml uv.lock
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen --inexact
	@touch $@

$(VENV)/.synced-spark: $(VENV)/.synced
	$(UV) sync --frozen --extra spark
	@touch $@

install: $(VENV)/.synced ## Create .venv from uv.lock

spark: $(VENV)/.synced-spark java ## The Spark engine: pyspark and sqlglot (the `spark` extra), and Java 17

java: ## Java 17 for Spark (Debian's openjdk-17-jre-headless), when missing
	@command -v java >/dev/null 2>&1 || { \
	  echo "Spark needs Java 17: installing Debian's openjdk-17-jre-headless"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq openjdk-17-jre-headless; }

demo: install ## Synthetic data -> train -> score -> risk and due lists -> drift -> monitor, outputs in runs/demo/
	$(VENV)/bin/retain demo --out runs/demo

# Two workers, one per core; a file's tests stay on one worker, so its module fixtures (trained
# worlds, servers) are built once.
PARALLEL := -n 2 --dist loadfile
# Two workers on two cores: OpenMP threads (LightGBM's) that wait by spinning take the core
# the other worker needs; sleeping instead made a training 5x faster beside another (70 s -> 14 s).
PASSIVE := OMP_WAIT_POLICY=PASSIVE
test: install spark browser ## Run the whole test suite (Spark parity and the browser included)
	$(PASSIVE) $(PY) -m pytest $(PARALLEL) --durations=15

FAST := not integration and not slow and not browser and not spark
test-fast: install ## Unit and property tests only (no servers, no end-to-end runs): the edit-test loop
	$(PASSIVE) $(PY) -m pytest $(PARALLEL) -m "$(FAST)" --hypothesis-profile=fast

browser: ## Chromium and chromedriver from Debian's packages for the page tests, when missing
	@command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver; }

lint: install spark ## ruff and mypy (with the spark extra, so its types are checked)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install ## Apply ruff's formatting and safe fixes
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

serve: install ## Scoring API and the pages (/ui/) on http://127.0.0.1:3000 without keys (after make demo); production: retain keys add + retain serve
	$(VENV)/bin/retain serve --insecure-local --port 3000

monitor-ui: install ## Evidently dashboard of the monitoring (after make demo or retain monitor) on http://127.0.0.1:8000
	$(VENV)/bin/retain monitor-ui --port 8000

screenshots: install browser ## The pages' screenshots in docs/images, taken by the browser tests
	RETAIN_SCREENSHOTS=docs/images $(PY) -m pytest -q tests/serving/test_pages.py

bento: install ## Package the scoring service with its locked requirements (bentoml build)
	$(UV) export --frozen --no-hashes --no-dev --no-emit-project --format requirements-txt \
		| grep -v '^ *#' > serving/requirements.txt
	$(VENV)/bin/bentoml build

image: bento ## Container image retain:<version> from the bento's generated Dockerfile (needs Docker; docs/OPERATIONS.md "Deploying")
	$(VENV)/bin/bentoml containerize retain:latest -t retain:$$($(PY) -c "import importlib.metadata as m; print(m.version('retain'))")

mlflow-ui: install ## MLflow UI on http://127.0.0.1:5000 for the local store in mlflow/
	$(VENV)/bin/mlflow ui --backend-store-uri sqlite:///mlflow/mlflow.db \
		--default-artifact-root ./mlflow/artifacts --host 127.0.0.1 --port 5000

bench: install ## List the benchmarks and how to run each (figures go to docs/BENCHMARKS.md)
	@for f in benchmarks/bench_*.py benchmarks/check_*.py; do \
		printf '\n%s\n' "$$f"; $(PY) -c "import ast,sys; print('  ' + ast.get_docstring(ast.parse(open(sys.argv[1]).read())).splitlines()[0])" "$$f"; \
		grep -m1 -E '^(Run|\.venv)|^    \.venv|Run: ' "$$f" | sed 's/^ */  /'; \
	done
	@echo; echo "Run one: $(PY) benchmarks/<name>.py --help"

docs: install ## The Python API reference from the docstrings (mkdocs + mkdocstrings) in build/docs/index.html
	$(VENV)/bin/mkdocs build --quiet -f docs/mkdocs.yml
	@echo "API reference: build/docs/index.html (reference.html: every function of import retain)"

wheel: install ## The wheel in dist/: one top-level name, retain (docs/ARCHITECTURE.md, "Packaging")
	$(UV) build --wheel --out-dir dist

clean: ## Remove demo outputs and RETAIN_HOME (.retain: warehouse, scores, saved lists, Evidently workspace); keeps the MLflow store
	rm -rf runs .retain
