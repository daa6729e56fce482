# p2m: one-command setup on a machine without a ROS 2 install.
#   make demo   set up (.venv + ROS 2 workspace) and run the demo
#   make test   set up and run the test suite
# ROS 2 comes from the Kilted wheels on PyPI (see docs/ros2-from-pypi.md);
# a machine with a real ROS 2 install can use colcon directly (README).
#
# Every step leaves a stamp file keyed on its inputs, so with nothing changed
# a second `make test` goes straight to pytest.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test

ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
PYTHON ?= python3
VENV := $(ROOT)/.venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
WS := $(ROOT)/ros2_ws
ENV := $(ROOT)/tools/ros_env.sh

# The CPU wheel of torch 2.13.0 lies here on this project's machines; any other
# torch spec, or none, pulls a multi-GB CUDA build from PyPI.
TORCH_FIND_LINKS ?= /opt/wheels
TORCH_PIP_ARGS := $(if $(wildcard $(TORCH_FIND_LINKS)),--find-links $(TORCH_FIND_LINKS))

PYTEST_ARGS ?=

TORCH_STAMP := $(VENV)/.stamp-torch
ROS_STAMP := $(VENV)/.stamp-ros
MODEL_STAMP := $(VENV)/.stamp-p2m-model
BUILD_STAMP := $(WS)/install/.stamp-build

# Everything colcon reads: a change in any of these rebuilds the workspace.
WS_SOURCES := $(shell find $(WS)/src $(ROOT)/launch -type f \
	-not -path '*/__pycache__/*' -not -name '*.pyc' -not -path '*.egg-info/*' 2>/dev/null)

.PHONY: venv build test demo clean eval bench soak

venv: $(MODEL_STAMP)

build: $(BUILD_STAMP)

test: $(BUILD_STAMP)
	cd $(ROOT) && $(ENV) python -m pytest tests $(PYTEST_ARGS)

demo: $(BUILD_STAMP)
	cd $(ROOT) && $(ENV) python tools/demo.py

# Replay a bag through the live pipeline (p2m_pipeline --source none) over DDS and score
# it against the bag's ground truth: report in out/eval (docs/evaluation.md).
# EVAL_CHECKPOINT empty = the shipped checkpoint; --lockstep so a slow CPU drops no frame.
EVAL_BAG ?= $(ROOT)/tests/data/bags/sample
EVAL_CHECKPOINT ?=
EVAL_ARGS ?= --lockstep
eval: $(BUILD_STAMP)
	cd $(ROOT) && $(ENV) python -m p2m_nodes.evaluation.evaluator_node --replay $(EVAL_BAG) \
		--output $(ROOT)/out/eval $(if $(EVAL_CHECKPOINT),--checkpoint $(EVAL_CHECKPOINT)) $(EVAL_ARGS)

# Model, visualizer and live-pipeline figures (docs/performance.md): bench/results.json.
# Run it on a quiet machine; BENCH_ARGS=--quick checks the harness in seconds.
BENCH_ARGS ?=
bench: $(BUILD_STAMP)
	cd $(ROOT) && $(ENV) python bench/run_bench.py $(BENCH_ARGS)

# Soak the live pipeline (tools/soak.py): 10 minutes at 30 Hz, RSS growth per node, lost
# frames and p99 latency drift; report in out/soak (docs/reliability.md).
# SOAK_CHECKPOINT empty = the shipped checkpoint.
SOAK_CHECKPOINT ?=
SOAK_ARGS ?= --duration-s 600 --rate-hz 30
soak: $(BUILD_STAMP)
	cd $(ROOT) && $(ENV) python tools/soak.py --output $(ROOT)/out/soak \
		$(if $(SOAK_CHECKPOINT),--checkpoint $(SOAK_CHECKPOINT)) $(SOAK_ARGS)

clean:
	rm -rf $(VENV) $(WS)/build $(WS)/install $(WS)/log

$(TORCH_STAMP): $(ROOT)/requirements/torch.txt
	$(PYTHON) -c 'import sys; v = sys.version_info[:2]; \
		sys.exit(0 if (3, 10) <= v <= (3, 12) else f"p2m needs Python 3.10-3.12 (ROS wheels exist for those), got {v}")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet $(TORCH_PIP_ARGS) -r $(ROOT)/requirements/torch.txt
	touch $@

# torch first (above): the ROS wheels and p2m_model then see it installed.
$(ROS_STAMP): $(TORCH_STAMP) $(ROOT)/requirements/ros2-kilted.txt $(ROOT)/requirements/dev.txt \
		$(ROOT)/requirements/runtime.txt $(ROOT)/requirements/mediapipe.txt \
		$(ROOT)/tools/fix_ros_wheel_cmake.py
	$(PIP) install --quiet -r $(ROOT)/requirements/ros2-kilted.txt -r $(ROOT)/requirements/dev.txt \
		-r $(ROOT)/requirements/runtime.txt
	$(PIP) install --quiet --no-deps -r $(ROOT)/requirements/mediapipe.txt
	_ROS_WHEELS_BOOTSTRAP_COMPLETE=1 $(PY) $(ROOT)/tools/fix_ros_wheel_cmake.py --prefix $(VENV)
	touch $@

$(MODEL_STAMP): $(ROS_STAMP) $(ROOT)/p2m_model/pyproject.toml
	$(PIP) install --quiet -e $(ROOT)/p2m_model
	touch $@

# Built without --symlink-install: don't mix the two in one tree.
$(BUILD_STAMP): $(MODEL_STAMP) $(ROOT)/tools/ros_env.sh $(WS_SOURCES)
	cd $(WS) && P2M_SKIP_WORKSPACE=1 $(ENV) colcon build \
		--cmake-args -DPython3_EXECUTABLE=$(PY) -DBUILD_TESTING=OFF
	touch $@
