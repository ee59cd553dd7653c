# `make demo` and `make test` work on a fresh Debian/Ubuntu machine as root or with sudo: each
# installs what is missing (Debian packages, the virtual environment, the package) and skips what
# is already there.

VENV        ?= .venv
PYTHON      ?= python3
# PostgreSQL holds the work orders; gettext compiles their pages' translations. Go and two Go libraries
# read the Grafana provisioning files as Grafana does (grafana/check.py). WeasyPrint renders the reports
# with pango, their Chinese in fonts-noto-cjk (embedded in the PDFs).
APT_PACKAGES = mosquitto mosquitto-clients influxdb postgresql gettext golang-go golang-github-prometheus-alertmanager-dev golang-gopkg-yaml.v3-dev libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk
# The tests also drive the work-order pages in Debian's headless Chromium (chromium-driver), and read the
# reports' PDFs back with poppler-utils (pdftotext, pdftoppm).
TEST_APT_PACKAGES = chromium chromium-driver poppler-utils systemd
# Installed without their recommended packages: docker-compose (the Compose file check) would pull in the Docker daemon.
TEST_APT_PACKAGES_BARE = docker-compose
SUDO        := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
STAMP        = $(VENV)/.facmon-installed

.PHONY: demo test test-unit test-stress lint install system-packages test-packages apt-install stack-down clean

demo: install
	$(VENV)/bin/facmon demo

test: install test-packages
	$(VENV)/bin/python -m pytest -q

# The tests that start no server and need nothing but Python (any laptop, under a minute), on every core.
test-unit: $(STAMP)
	$(VENV)/bin/python -m pytest -q -n auto -m "not integration and not slow"

# The rules CI checks within `make test`: ruff, ruff format, mypy, the layout contract.
lint: $(STAMP)
	$(VENV)/bin/python -m pytest -q tests/test_code_rules.py

# Long stress runs left out of `make test` (marked slow): 120 SIGTERM/SIGINT trials against facmon ingest.
test-stress: install test-packages
	$(VENV)/bin/python -m pytest -q -s -m slow

install: system-packages $(STAMP)

# Installs only the Debian packages that are missing; a no-op when all are there.
system-packages:
	@$(MAKE) --no-print-directory apt-install PACKAGES="$(APT_PACKAGES)"
	@if ! $(PYTHON) -c "import ensurepip, venv" >/dev/null 2>&1; then $(MAKE) --no-print-directory apt-install PACKAGES=python3-venv; fi

test-packages:
	@$(MAKE) --no-print-directory apt-install PACKAGES="$(TEST_APT_PACKAGES)"
	@$(MAKE) --no-print-directory apt-install PACKAGES="$(TEST_APT_PACKAGES_BARE)" APT_FLAGS=--no-install-recommends

apt-install:
	@missing=""; \
	for pkg in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(APT_FLAGS) $$missing; \
	fi

# Rebuilt when pyproject.toml changes; the package is installed in editable mode.
$(STAMP): pyproject.toml
	[ -x $(VENV)/bin/python ] || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q -e '.[test]'
	touch $@

stack-down:
	[ ! -x $(VENV)/bin/facmon ] || $(VENV)/bin/facmon stack down

clean: stack-down
	rm -rf $(VENV) .facmon *.egg-info .pytest_cache
