# Recurrent networks from scratch. The two commands: `make book` and `make test`.
# Both first (re)install .venv when requirements.txt or pyproject.toml change.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := book

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NOTEBOOKS  = $(sort $(wildcard chapters/*.ipynb))
LINT_PATHS = rnnlib tests assets scripts benchmarks chapters _ext

# Determinism: fixed hash seed, and one BLAS/OpenMP thread so printed floats do
# not depend on the machine's core count. Prefer the kernel spec inside .venv.
export PYTHONHASHSEED := 0
export PYTHONUTF8 := 1
export OMP_NUM_THREADS := 1
export OPENBLAS_NUM_THREADS := 1
export MKL_NUM_THREADS := 1
# torch on its AVX2 code paths (ATen's kernels, oneDNN, MKL) on any x86-64 CPU, AVX-512 ones
# included: its float32 training runs, whose printed losses and accuracies the notebooks commit,
# then take the same path on every machine with AVX2. NumPy's BLAS kernel still varies with the
# CPU: what that changes is round-off, which .nbval-sanitize.cfg masks (make bench unsets these).
export ATEN_CPU_CAPABILITY := avx2
export ONEDNN_MAX_CPU_ISA := AVX2
export MKL_CBWR := AVX2
export JUPYTER_PREFER_ENV_PATH := 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: book test lab notebooks figures bench clean

# Set-up: create .venv if missing, install the pins, rnnlib (editable) and the venv's kernel.
$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3"
	touch $@

# The website: committed notebooks must be fully executed and error-free; any Sphinx warning fails.
book: $(STAMP)
	$(BIN)/python scripts/check_notebooks.py $(NOTEBOOKS)
	rm -rf _build/html  # no page of a chapter that is gone survives into the browser tests
	$(BIN)/jupyter-book build --all -W -n --keep-going .
	@echo "Book built: open $(CURDIR)/_build/html/index.html"

# Every test: lint, the committed diagrams are what assets/make_figures.py draws, the strict
# book, the website and JupyterLab in Chromium (make browser), unit tests, then every chapter
# re-run and compared by nbval, with round-off digits masked by .nbval-sanitize.cfg (pytest runs
# last so its summaries close the log). Every pytest
# run uses two worker processes (pytest-xdist), each with one BLAS thread; --dist loadfile
# keeps every cell of a notebook on one worker, in order, in one kernel. --durations lists
# the slowest tests (for nbval: cells) so regressions show.
PYTEST_JOBS ?= 2
test: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/python assets/make_figures.py --check
	$(MAKE) --no-print-directory book
	$(MAKE) --no-print-directory browser
	$(BIN)/pytest -n $(PYTEST_JOBS) --durations=15
	$(BIN)/pytest --nbval --nbval-current-env --nbval-sanitize-with .nbval-sanitize.cfg \
	  -n $(PYTEST_JOBS) --dist loadfile --durations=15 $(NOTEBOOKS)

# The built website in Chromium (every page) and one chapter run in JupyterLab: tests/browser,
# which plain `pytest` leaves out. Two workers, each with its own Chromium; --dist loadgroup
# keeps every test of one page on one worker, which loads the page once. Needs `make book` first. Where Chromium is missing they are
# skipped with a loud warning; under CI=true that is a failure.
.PHONY: browser
browser: $(STAMP)
	$(BIN)/pytest -n $(PYTEST_JOBS) --dist loadgroup --durations=5 tests/browser

# JupyterLab on 127.0.0.1 with a token, opened on chapters/ (the project root is served so
# ../assets/ resolves), with the project's Lab settings lab/overrides.json: see scripts/lab.py.
lab: $(STAMP)
	$(BIN)/python scripts/lab.py

# Re-execute every chapter top to bottom in a fresh venv kernel, writing outputs in place.
notebooks: $(STAMP)
	$(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	  --ExecutePreprocessor.kernel_name=python3 --ExecutePreprocessor.timeout=600 \
	  --ExecutePreprocessor.record_timing=False $(NOTEBOOKS)

# Redraw the diagrams in assets/ (commit the result; make test checks they are current).
figures: $(STAMP)
	$(BIN)/python assets/make_figures.py

# Benchmarks: rnnlib against torch.nn in float32, time ratios, share of the matrix-product peak
# and memory, with 1 thread and with the default threads (run.py undoes the exports above).
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

# Remove build outputs and caches (keeps .venv; `rm -rf .venv` for a full reset).
clean:
	rm -rf _build .pytest_cache .ruff_cache *.egg-info
	find . -path ./$(VENV) -prune -o -type d \( -name __pycache__ -o -name .ipynb_checkpoints -o -name .hypothesis \) \
	  -print0 | xargs -0 rm -rf
