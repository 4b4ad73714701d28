# camaudit: `make demo` loads the demo data and runs the job; `make test` runs the tests; `make bench` the benchmarks;
# `make bench-scale` a province's registry and a year of daily counts (an hour or more; not part of `make test`).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install demo test bench bench-scale clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

DEMO_DB := sqlite:///$(CURDIR)/instance/demo.sqlite3
DEMO_AREAS := data/boundaries/jiangle_350428_townships.geojson
DEMO_ROADS := data/demo/roads.geojson

demo: install
	$(VENV)/bin/camaudit demo
	CAMAUDIT_DATABASE_URL=$(DEMO_DB) CAMAUDIT_AREAS_FILE=$(DEMO_AREAS) CAMAUDIT_ROADS_FILE=$(DEMO_ROADS) \
		$(VENV)/bin/camaudit serve $(SERVE_ARGS)

test: install
	$(PY) -m pytest -q

bench: install
	$(PY) bench/bench_import.py
	$(PY) bench/bench_audit.py
	$(PY) bench/bench_detection.py
	$(PY) bench/bench_exports.py
	$(PY) bench/bench_web.py

# SQLite always; PostgreSQL too when CAMAUDIT_BENCH_PG_URL is set. BENCH_SCALE_ARGS="--sizes 10000 --days 100" …
bench-scale: install
	$(PY) bench/bench_scale.py $(BENCH_SCALE_ARGS)

clean:
	rm -rf $(VENV) instance build *.egg-info bench/out
