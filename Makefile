# Kakehashi: `make run` serves the demo, `make test` runs lint and the test suite.
# Both create .venv themselves; `make test` also installs Debian's chromium for the
# browser tests and Debian's postgresql for the PostgreSQL tests when they are missing. PyTorch is installed first as the CPU build
# (torch==2.13.0, from the local disk here); a plain `torch` requirement would pull a
# multi-GB CUDA build.

VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install run index test lint pytest eval bench clean browser postgres redis nginx screenshots mail

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/kakehashi serve

browser:
	@test -x /usr/bin/chromium || { \
		echo "Installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk; }
	@test -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf || { \
		echo "Installing Debian's emoji font (the widget's buttons in screenshots)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-color-emoji; }

# The README's pictures: the browser tests that take them write docs/screenshots/*.png.
screenshots: install browser
	KAKEHASHI_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q -p no:cacheprovider \
		tests/app/test_screenshots.py tests/app/test_browser_staff.py \
		tests/app/test_browser_attachments.py

# The tests start their own throwaway server from these binaries (no service is started).
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
		echo "Installing Debian's postgresql for the PostgreSQL tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; }

# The Redis tests start their own throwaway redis-server on loopback.
redis:
	@command -v redis-server >/dev/null 2>&1 || { \
		echo "Installing Debian's redis-server for the Redis tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; }

# The multi-server tests run nginx (docs/deploy.md's configuration) in front of two servers.
nginx:
	@command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || { \
		echo "Installing Debian's nginx for the multi-server tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx; }

# The e-mail tests start their own throwaway Dovecot IMAP server on loopback.
mail:
	@test -x /usr/sbin/dovecot || { \
		echo "Installing Debian's dovecot-imapd for the e-mail tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd; }

index: install
	$(BIN)/kakehashi index

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy .

pytest: install browser postgres redis nginx mail
	$(BIN)/pytest

test: lint pytest

eval: install
	for mode in hybrid dense lexical rrf; do \
		$(BIN)/kakehashi eval --cases eval/datasets --mode $$mode --json eval/results/$$mode.json > /dev/null || exit 1; \
	done

bench: install
	$(BIN)/kakehashi bench

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
