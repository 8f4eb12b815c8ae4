# make run   - set everything up and serve on http://$(HOST):$(PORT) (SQLite by default)
# make setup - everything but serving: virtualenv, pinned dependencies, database schema, model check
# make test  - set up, then run the whole suite (SQLite and PostgreSQL)
# make bench - benchmarks beside peers, report in bench/results/
# make soak  - two instances on a throwaway PostgreSQL through chaos; invariants in bench/results/soak.md
# make lint  - ruff, import-linter (imports only point down the layers) and mypy on moderation/

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app app
HOST   ?= 127.0.0.1
PORT   ?= 5000
PYTEST_ARGS ?= -n 2

.PHONY: run setup test lint db model kernel bytecode bench soak clean

run: setup
	@$(FLASK) api-key list | grep -q . || printf '\nNo API key yet. Create one for your site with:\n  %s api-key create my-site\n\n' "$(FLASK)"
	@$(FLASK) moderator list | grep -q . || printf '\nNo moderator account yet: the review page at http://$(HOST):$(PORT)/ needs one. Create an admin with:\n  %s moderator create admin --role admin\n\n' "$(FLASK)"
	$(FLASK) run --host $(HOST) --port $(PORT)

setup: $(VENV)/.installed kernel db model bytecode

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

db: $(VENV)/.installed
	$(FLASK) db upgrade

model: $(VENV)/.installed
	@# Checks the committed models/classifier.skops against its sidecar and writes its compiled
	@# scoring form (models/classifier.scoring.npz, git-ignored) when missing or stale; never trains.
	@# Rebuild it with: $(FLASK) model train --recipe models/recipe.json --out models/classifier.skops
	@# --replace-live (needs ../shared/datasets); without --out, training writes a candidate to promote.
	MODERATION_MODEL=none $(FLASK) model check

kernel: $(VENV)/.installed
	@# The classifier's kernel and the sentence splitter in C (moderation/classifier/_linear.pyx,
	@# moderation/text/_sentences.pyx; needs gcc and the Python headers). The results are the numpy
	@# and re code's, to the bit (tests/test_same_outputs.py).
	$(BIN)/python setup.py --quiet build_ext --inplace

bytecode: $(VENV)/.installed
	@# Python writes these itself unless PYTHONDONTWRITEBYTECODE is set (as on some CI machines);
	@# without them every `flask` command compiles the project again: 0.1 s of a 0.8 s start-up.
	$(BIN)/python -m compileall -q app.py moderation bench > /dev/null

test: setup lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: setup
	@# Speed, memory and quality beside peers; writes bench/results/report.md (and .json, PNG charts).
	$(BIN)/python -m bench.run $(BENCH_ARGS)

soak: setup
	@# Bounded load on two gunicorn instances sharing a PostgreSQL cluster it starts itself (initdb,
	@# another port), with a killed worker, a database restart and a webhook receiver outage; exits 1
	@# when an invariant fails. Writes bench/results/soak.md and soak.json. SOAK_ARGS=--quick: smaller.
	$(BIN)/python -m bench.soak $(SOAK_ARGS)

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy

clean:
	rm -rf $(VENV) instance/moderation.db* .pytest_cache build moderation/classifier/_linear.c moderation/classifier/_linear.*.so moderation/text/_sentences.c moderation/text/_sentences.*.so
