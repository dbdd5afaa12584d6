# Xiangxue: `make run` serves the app with its worker; `make test` runs the whole suite on SQLite and
# on a throwaway PostgreSQL. Every target is idempotent; a second run only redoes what changed.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
PORT ?= 5000
DOMAINS := lms households media courses learning stats search followup subsidies
CATALOG_DIR := lms/translations/zh_Hans_CN/LC_MESSAGES
SYSTEM_TOOLS := ffmpeg ffprobe chromium nginx redis-server
VENDOR := lms/static/vendor

.PHONY: setup packages venv node-packages run test test-fast test-sqlite test-postgres bench system-deps assets catalogs db seed extract clean

# Each step skips itself when its inputs have not changed: bin/stamp keeps the hash of the inputs
# (requirements.txt; package.json and package-lock.json; the .po files) beside the step's output,
# so a second `make run` spends no time here and an edited input always redoes its step.
setup: packages system-deps assets catalogs

# The packages: `make packages` alone is what "after the packages are installed" means for the
# start-up figures (README "Benchmarks and footprint").
packages: venv node-packages

venv:
	@if ! test -x $(BIN)/python || ! bin/stamp check $(VENV)/.installed requirements.txt; then \
	  test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || exit 1; \
	  $(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt || exit 1; \
	  bin/stamp write $(VENV)/.installed requirements.txt; fi

# Debian's ffmpeg (transcoding), chromium (browser tests), nginx (media benchmark behind X-Accel),
# redis-server (tests/production starts one), and a Chinese font for the browser's screenshots.
system-deps:
	@missing=""; for tool in $(SYSTEM_TOOLS); do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Debian packages for:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg chromium nginx-light redis-server >/dev/null; \
	  else \
	    echo "Missing:$$missing. Install Debian's ffmpeg, chromium, nginx-light and redis-server (or your system's equivalents)."; \
	    command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || exit 1; \
	  fi; \
	fi; \
	if ! (command -v fc-list >/dev/null && fc-list :lang=zh | grep -q .); then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    echo "Installing a Chinese font (the browser tests' screenshots)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei fontconfig >/dev/null || exit 1; \
	  else echo "No Chinese font: screenshots will show boxes (install fonts-wqy-microhei)"; fi; \
	fi

# Front-end packages pinned in package.json/package-lock.json (npm ci). `dependencies` (hls.js) are
# copied into the static folder by `assets`; `devDependencies` are for the checks only and stay in
# node_modules, never served: axe-core (the e2e suite injects node_modules/axe-core/axe.min.js into
# every page it opens) and lighthouse (bench/lighthouse.py). package.json's `overrides` pin the two
# packages one of lighthouse's dependencies asks for as "latest": without them `npm ci` refuses the
# lock file whenever a new release of either appears.
node-packages:
	@if ! command -v npm >/dev/null; then echo "npm not found: the player falls back to native HLS and MP4 without hls.js"; \
	elif ! bin/stamp check node_modules/.installed package.json package-lock.json; then \
	  npm ci --silent --no-audit --no-fund && bin/stamp write node_modules/.installed package.json package-lock.json; fi

assets: node-packages
	@if [ -f node_modules/hls.js/dist/hls.light.min.js ] && \
	  ! bin/stamp check $(VENDOR)/.stamp node_modules/hls.js/dist/hls.light.min.js; then \
	  mkdir -p $(VENDOR) && cp node_modules/hls.js/dist/hls.light.min.js $(VENDOR)/hls.light.min.js && \
	  bin/stamp write $(VENDOR)/.stamp node_modules/hls.js/dist/hls.light.min.js; fi

# Every domain in one pybabel process (each start of it costs about half a second).
catalogs: venv
	@mos=""; for d in $(DOMAINS); do mos="$$mos $(CATALOG_DIR)/$$d.mo"; done; \
	if ! ls $$mos >/dev/null 2>&1 || ! bin/stamp check lms/translations/.compiled $(CATALOG_DIR)/*.po; then \
	  $(BIN)/pybabel compile -d lms/translations -D "$(DOMAINS)" -l zh_Hans_CN >/dev/null && \
	  bin/stamp write lms/translations/.compiled $(CATALOG_DIR)/*.po; fi

# For developers: refresh one area's catalog after changing strings (make extract DOMAIN=media).
extract: venv
	$(BIN)/python -m lms.i18n_catalog extract $(DOMAIN)

db: setup
	$(FLASK) db upgrade

seed: db
	$(FLASK) demo seed

# bin/serve: the job worker (which first upgrades the database and seeds the demo) and gunicorn
# (preloaded, its worker count picked from the cores and the memory), started together; see the
# script. bench/footprint.py times this target on a fresh checkout and measures its process set.
run: setup
	@PORT=$(PORT) BIN=$(BIN) bin/serve

# The suite on SQLite, then on a throwaway PostgreSQL, then the production layout (tests/production
# starts its own PostgreSQL, Redis, two web hosts, a worker and nginx).
test: setup
	$(BIN)/lint-imports  # the layers in .importlinter (README, Architecture): an upward import fails here
	$(BIN)/python -m pytest -q -p no:cacheprovider --ignore=tests/production
	# The benches choose their own database: their --quick runs are checked once, in the SQLite pass.
	bash tests/with_postgres.sh $(BIN)/python -m pytest -q -p no:cacheprovider --ignore=tests/production --ignore=tests/bench
	$(BIN)/python -m pytest -q -p no:cacheprovider --durations=5 tests/production

test-fast: setup
	$(BIN)/python -m pytest -q -p no:cacheprovider -x --ignore=tests/production

bench: setup
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) node_modules $(VENDOR) instance
