# sro-analysis: two commands on a fresh machine.
#   make report   install + clean + link + metrics + figures + HTML reports + data releases
#   make test     the whole test suite
# Every target bootstraps .venv when it is missing or when pyproject.toml changed.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SHARED_DATA ?= ../shared/data
SALT_FILE ?= $(HOME)/.config/sro-analysis/salt
export SRO_ANALYSIS_SALT_FILE := $(SALT_FILE)

.DEFAULT_GOAL := help
.PHONY: help report demo chicago test test-fast lab bench clean-outputs

help: ## Show this help
	@echo "sro-analysis make targets:"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | awk -F'\t' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

$(SALT_FILE):
	@mkdir -p $(dir $(SALT_FILE))
	@$(PYTHON) -c "import secrets; print(secrets.token_hex(32))" > $(SALT_FILE)
	@chmod 600 $(SALT_FILE)
	@echo "created a private salt for hashed ids at $(SALT_FILE) (outside the repository; keep it)"

report: $(STAMP) $(SALT_FILE) ## The main job: demo + Chicago data -> Datasets, HTML reports, data releases
	$(MAKE) --no-print-directory demo
	$(MAKE) --no-print-directory chicago
	$(BIN)/sro-analysis report --index reports
	@echo "Done. Open reports/index.html"

demo: $(STAMP) $(SALT_FILE) ## Synthetic demo release only
	$(BIN)/sro-analysis clean --source synthetic --out data/interim/synthetic
	$(BIN)/sro-analysis report --set synthetic --index reports
	$(BIN)/sro-analysis publish --dataset data/interim/synthetic --out data/processed/synthetic

chicago: $(STAMP) $(SALT_FILE) ## Real Chicago public records (local mirror if present, else download)
	@if [ -d "$(SHARED_DATA)" ]; then \
	  $(BIN)/sro-analysis fetch chicago --mirror "$(SHARED_DATA)" --cache data/raw/chicago --quiet; \
	elif ! $(BIN)/sro-analysis fetch chicago --cache data/raw/chicago; then \
	  echo "No network and no local mirror ($(SHARED_DATA)): skipping the Chicago reports; the demo was rendered."; \
	  exit 0; \
	fi; \
	$(BIN)/sro-analysis clean --source chicago --raw data/raw/chicago --out data/interim/chicago && \
	$(BIN)/sro-analysis report --set chicago --index reports && \
	$(BIN)/sro-analysis publish --dataset data/interim/chicago --out data/processed/chicago

test: $(STAMP) ## Run the whole test suite (both cores)
	$(BIN)/python -m pytest -n 2 --dist loadfile

test-fast: $(STAMP) ## Unit tests only (no real records, notebooks, reports or browser): the edit loop
	$(BIN)/python -m pytest -n 2 -q -m "not real and not slow and not browser"

lab: $(STAMP) ## Open JupyterLab with the notebooks (jupytext .py files open as notebooks)
	JUPYTER_CONFIG_PATH="$(CURDIR)/notebooks/.jupyter" $(BIN)/jupyter lab notebooks/

bench: $(STAMP) ## Speed and memory benchmarks (prints a table, writes benchmarks/results.csv)
	$(BIN)/sro-analysis bench

clean-outputs: ## Remove generated data, reports and figures (keeps .venv)
	rm -rf data/raw/synthetic data/raw/chicago data/interim data/processed/*/ reports/*/ reports/index.html
