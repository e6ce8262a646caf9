# Two commands do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev
LOCALES := content/locales

.PHONY: run chat test lint install install-dev messages extract migrate demo bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(DEVSTAMP): pyproject.toml $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(STAMP)
install-dev: $(DEVSTAMP)

messages: $(STAMP)  ## compile the message catalogues (.po -> .mo)
	$(BIN)/pybabel compile --use-fuzzy -d $(LOCALES) -D messages --statistics

extract: $(STAMP)  ## refresh the catalogue template and merge it into each language
	$(BIN)/pybabel extract -F babel.cfg -k _ -k n_:1,2 -k N_ --no-wrap --sort-by-file \
	  --project=ilpbot --copyright-holder="ILP bot authors" -o $(LOCALES)/messages.pot \
	  bot.py care channels content handlers registers reminders satusehat web db
	$(BIN)/pybabel update -i $(LOCALES)/messages.pot -d $(LOCALES) -D messages --no-wrap --ignore-obsolete

migrate: $(STAMP)
	$(PY) bot.py db upgrade

demo: migrate
	$(PY) bot.py demo load

run: messages demo  ## set up everything and start the bot (Telegram with a token, else the local chat)
	$(PY) bot.py run

chat: messages demo
	$(PY) bot.py chat

lint: $(DEVSTAMP)  ## ruff, and the import-linter contracts of the layering (pyproject.toml)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

test: $(DEVSTAMP) messages lint  ## install the dev dependencies, run the static checks and the whole test suite
	$(BIN)/pytest -q $(PYTEST_ARGS)

bench: $(DEVSTAMP) messages
	$(PY) bench/chat_turns.py

clean:
	rm -rf $(VENV) var .pytest_cache
