# The README's two commands: `make demo` and `make test`. Each sets everything up itself.
VENV      := .venv
PY        := $(VENV)/bin/python
STAMP     := $(VENV)/.installed
# Debian packages a feature needs: zbar for the pyzbar backend, a CJK font for
# cover sheets, receipts and generated pages; faketime runs tests and the demo at a fixed clock.
DEBS      := libzbar0 fonts-wqy-microhei faketime

.PHONY: setup debs demo test bench clean

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

test: setup
	$(PY) -m pytest -q -p no:cacheprovider

bench: setup
	$(VENV)/bin/juanzong bench ingest

clean:
	rm -rf $(VENV) *.egg-info
