# alliance-meta: `make` sets up .venv and runs the pipeline; `make test` runs the tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
CORES  ?= all

.PHONY: all run setup test lint reference benchmark lock clean

all: run

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/snakemake --cores $(CORES)

# Two workers; a module's (or test class's) tests stay on one worker so that its
# module-scoped fixtures (pipeline runs) are built once.
test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadscope

lint: $(STAMP)
	$(BIN)/snakemake --lint

# Regenerate the committed reference values (R packages: tests/reference/README.md); scripts
# whose non-Debian package is missing skip themselves; robma_combine.R (robma.R's helper) and common.R (the
# preamble every script sources) are no reference scripts.
reference:
	cd tests/reference && for script in *.R; do \
	  case "$$script" in robma_combine.R|common.R) continue;; esac; \
	  Rscript "$$script" || exit 1; \
	done

benchmark: $(STAMP)
	for script in benchmarks/bench_*.py; do $(BIN)/python "$$script" || exit 1; done

# Re-resolve the newest versions into requirements.lock (then commit it with environment.yml).
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --upgrade pip
	.lock-venv/bin/pip install --quiet '.[bayes,workflow,test]' setuptools wheel
	{ echo "# Exact versions installed by \`make\` (pip freeze of a fresh venv, Python 3.11)."; \
	  echo "# Regenerate with \`make lock\` after changing dependencies in pyproject.toml."; \
	  .lock-venv/bin/pip freeze --all --exclude alliance-meta --exclude pip; } > requirements.lock
	rm -rf .lock-venv

clean:
	rm -rf results/* data/processed/* .snakemake
