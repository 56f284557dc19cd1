# The two promises: `make run` starts the app, `make test` runs lint and every test.
# Both work on a fresh machine with python3 and make (and the apt packages .ci/run installs).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
ARGS   ?=

.PHONY: run test lint bench package package-test clean

# setup.py and the C kernel too: an editable install keeps the compiled module it built, so a
# changed kernel source must reinstall (rebuild) it
INSTALL_DEPS := pyproject.toml setup.py dedupe_gui/core/_framesums.c

$(VENV)/.installed-run: $(INSTALL_DEPS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(INSTALL_DEPS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(VENV)/bin/dedupe-gui $(ARGS)

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check dedupe_gui tests benchmarks

test: lint
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q $(PYTEST_ARGS)

# make bench [CORPUS=dir] [SCALE=dir]: corpora from the shared bench generators
bench: $(VENV)/.installed-test
	QT_QPA_PLATFORM=offscreen $(PY) benchmarks/run_all.py $(if $(CORPUS),--corpus $(CORPUS)) \
	  $(if $(SCALE),--scale $(SCALE))

# The frozen one-folder bundle (PyInstaller): dist/dedupe-gui/{dedupe-gui,dedupe}. Rebuilt
# only when a source (the C kernel too), an icon, the spec or pyproject.toml changed.
BUNDLE := dist/dedupe-gui
BUNDLE_SOURCES := $(INSTALL_DEPS) $(shell find dedupe_gui packaging resources -type f \
  \( -name '*.py' -o -name '*.png' -o -name '*.spec' -o -name '*.sh' -o -name '*.desktop' \
  -o -name '*.xml' -o -name '*.svg' \) 2>/dev/null)

$(VENV)/.installed-package: $(INSTALL_DEPS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,packaging]'
	touch $@ $(VENV)/.installed-test $(VENV)/.installed-run

$(BUNDLE)/dedupe: $(VENV)/.installed-package $(BUNDLE_SOURCES)
	$(VENV)/bin/pyinstaller --noconfirm --log-level WARN --distpath dist \
	  --workpath build/pyinstaller packaging/dedupe-gui.spec
	touch $@

package: $(BUNDLE)/dedupe

package-test: $(BUNDLE)/dedupe
	DEDUPE_BUNDLE=$(BUNDLE) QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -p no:cacheprovider \
	  tests/packaging/bundle_smoke.py

clean:
	rm -rf $(VENV) build dist *.egg-info
