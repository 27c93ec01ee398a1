# One-command set-up: `make test` and `make demo` create or reuse .venv and install what they need.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.resweep-installed
# The CPU build of torch (on this project's machines pip takes it from local disk). GPU users:
# see docs/getting-started.md, "Installing".
TORCH_SPEC ?= torch==2.13.0
PIP_EXTRA ?=

.PHONY: install browser test test-fast demo bench bench-smoke lint docs clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(PIP_EXTRA) "$(TORCH_SPEC)"
	$(PY) -m pip install -q $(PIP_EXTRA) -e ".[dev,tracking]"
	touch $(STAMP)

# The report's real-browser test needs headless Chromium. When it is missing it is installed with
# the system's package manager where that is apt (Debian/Ubuntu: as root, or through sudo);
# elsewhere the line says what to install.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1; then \
	    SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends chromium; \
	  else echo "make: the report's browser test needs headless Chromium: install the package chromium" >&2; fi; }

# The whole suite (what CI runs: .ci/run), in two processes: most of its time is end-to-end runs
# that wait on process starts, so two at once fill the two cores. A file's tests share one process
# (--dist loadfile): they run in their order, with their module's fixtures built once.
test: $(STAMP) browser
	$(PY) -m pytest -q -n 2 --dist loadfile

# The unit tier: no Ray, no end-to-end CLI runs, no clusters or object stores; slowest tests listed.
test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow and not ray and not cluster and not s3" --durations=15

# The main job: the demo sweep on the synthetic corpus (local Ray, MiniLM offline), then its
# answer per size.
# The sweep is named `demo` (results/demo), the name every command in the README and docs/ uses. A second
# `make demo` resumes it: an interrupted demo continues, a finished one prints its answer again.
# `rm -rf results/demo` starts afresh.
demo: $(STAMP)
	@if [ -f results/demo/sweep.yaml ]; then \
	  echo "make demo: results/demo exists: resuming it (rm -rf results/demo to start afresh)"; \
	  HF_HUB_OFFLINE=1 $(VENV)/bin/resweep resume demo --storage results; \
	else \
	  HF_HUB_OFFLINE=1 $(VENV)/bin/resweep sweep configs/demo.yaml --name demo --storage results; \
	fi

# The benchmarks at their real sizes (~30 min on 2 cores; each one bounded), their figures written
# to bench/RESULTS.md with command, date, commit and machine. The ground-truth generator
# (bench/ground_truth.py: hours) and architectures_semeval (hours, needs ../shared) are not in it:
# `$(PY) bench/run_all.py --only architectures_semeval`. `make bench-smoke`: every benchmark at its
# smoke size (a few minutes), into results/bench/RESULTS-smoke.md.
bench: $(STAMP)
	$(PY) bench/run_all.py

bench-smoke: $(STAMP)
	$(PY) bench/run_all.py --smoke

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# The documentation site (mkdocs.yml, docs/) into site/: offline (no plugin fetches anything), and
# --strict, so a broken link, a page missing from the nav or a docstring that does not render fails.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) build site *.egg-info
