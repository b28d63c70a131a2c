# Recurrent networks from scratch. The two commands: `make book` and `make test`.
# Both first set up .venv (Python 3.11 or later): made afresh when requirements.txt or
# constraints.txt change, rnnlib reinstalled when pyproject.toml changes.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := book

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The pins .venv was made from (requirements.txt, then constraints.txt, without their comments):
# when they change, .venv is made afresh, since pip never removes a package no longer required.
PINS   := $(VENV)/.pins
PINNED := sed -E 's/ *\#.*//; /^$$/d' requirements.txt constraints.txt
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

.PHONY: book test anycpu lab notebooks figures bench clean constraints

# Set-up: .venv made afresh if missing or if the pins changed (after a check of $(PYTHON)), the
# requirements installed within constraints.txt (every package, dependencies included, at the
# version of the last green run), rnnlib (editable) and the venv's kernel.
$(STAMP): requirements.txt constraints.txt pyproject.toml
	@if ! $(PINNED) | cmp -s - $(PINS); then \
	  $(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
	    echo "!! Python 3.11 or later is needed and $(PYTHON) is not: make PYTHON=python3.11"; \
	    exit 1; }; \
	  echo "Making $(VENV) afresh from requirements.txt and constraints.txt"; \
	  rm -rf $(VENV); \
	  $(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	    echo "!! $(PYTHON) -m venv failed; on Debian or Ubuntu: apt-get install python3-venv"; \
	    exit 1; }; \
	fi
	$(BIN)/python -m pip install -q -r requirements.txt -c constraints.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3"
	$(PINNED) > $(PINS)
	touch $@

# After a change of requirements.txt and a green `make test`: pin what .venv now holds (rnnlib,
# installed editable, aside; torch without its local build label, so that its requirement line
# decides which build is installed).
constraints: $(STAMP)
	{ echo "# Every package of .venv at the version of a green make test: make constraints."; \
	  $(BIN)/python -m pip freeze --exclude-editable | sed -E 's/^(torch==[^+]+)\+.*/\1/'; \
	} > constraints.txt
	$(PINNED) > $(PINS)
	touch $(STAMP)

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
# nbval as make test runs it; a cell still running after 300 s fails (the slowest take seconds).
NBVAL = $(BIN)/pytest --nbval --nbval-current-env --nbval-sanitize-with .nbval-sanitize.cfg \
  --nbval-cell-timeout=300 -n $(PYTEST_JOBS) --dist loadfile --durations=15
test: $(STAMP)
	scripts/system_deps.sh
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/python assets/make_figures.py --check
	$(MAKE) --no-print-directory book
	$(MAKE) --no-print-directory browser
	$(BIN)/pytest -n $(PYTEST_JOBS) --durations=15
	$(NBVAL) $(NOTEBOOKS)

# The unit tests and the notebooks again with NumPy's and SciPy's OpenBLAS on an older CPU's
# kernel (Sandybridge: AVX, no FMA; a CPU with AVX2 picks Haswell or later), as a reader's machine
# may: only round-off may change, which the assertions bound and .nbval-sanitize.cfg masks. CI
# runs it after make test (.ci/run).
OLD_CORETYPE ?= Sandybridge
anycpu: $(STAMP)
	OPENBLAS_CORETYPE=$(OLD_CORETYPE) $(BIN)/pytest -n $(PYTEST_JOBS) --durations=5
	OPENBLAS_CORETYPE=$(OLD_CORETYPE) $(NBVAL) $(NOTEBOOKS)

# The built website in Chromium (every page) and one chapter run in JupyterLab: tests/browser,
# which plain `pytest` leaves out. Two workers, each with its own Chromium; --dist loadgroup
# keeps every test of one page on one worker, which loads the page once. Needs `make book` first. Where Chromium is missing they are
# skipped with a loud warning; under CI=true that is a failure.
.PHONY: browser
browser: $(STAMP)
	$(BIN)/pytest -n $(PYTEST_JOBS) --dist loadgroup --durations=5 tests/browser

# The whole book as one PDF, offline: the strict single-page build (_build/singlehtml) printed
# by the system Chromium (scripts/pdf.py, which stops if any block would be cut off) to
# _build/pdf/rnn-from-scratch.pdf, then checked (tests/pdf: pages, fonts, titles, no line cut).
# A `make book` run after it copies the PDF into the site and links it from every page's footer.
.PHONY: pdf
pdf: $(STAMP)
	scripts/system_deps.sh
	$(BIN)/python scripts/check_notebooks.py $(NOTEBOOKS)
	$(BIN)/jupyter-book build --builder singlehtml --all -W -n --keep-going .
	$(BIN)/python scripts/pdf.py
	$(BIN)/pytest --durations=5 tests/pdf

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
