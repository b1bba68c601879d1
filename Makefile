# Zero-Shot Vision Lab. Each target creates .venv on first use and installs what it needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PROFILE ?= sample
TEST_WORKERS ?= auto

.PHONY: course test lint bench samples clean-outputs gpu-wheels

$(BIN)/python:
	@$(PYTHON) tools/check_python.py
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install -q -r requirements.txt -c constraints.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(BIN)/python -m pip install -q -r requirements-dev.txt -c constraints.txt
	touch $@

## make course: run every notebook headless in $(PROFILE) into outputs/course/$(PROFILE)/ and write results.md;
## make course SEEDS="0 1 2": once per seed, and one results.md with each figure's mean, sd and min-max
course: $(VENV)/.installed
	$(BIN)/python -m utils.course --profile $(PROFILE) $(if $(SEEDS),--seeds $(SEEDS))

## make test: unit tests and every notebook in the smoke profile (nbmake), on every core (TEST_WORKERS=0: in one process).
## One torch/OpenMP thread per worker: with a worker per core, more threads only spin against each other (docs/testing.md).
test: $(VENV)/.installed-dev
	$(BIN)/python -m ruff check .
	ZSL_PROFILE=smoke ZSL_DEVICE=cpu OMP_NUM_THREADS=1 $(BIN)/python -m pytest tests notebooks \
		-n $(TEST_WORKERS) --dist loadgroup \
		--nbmake --nbmake-kernel=python3 --nbmake-timeout=900

lint: $(VENV)/.installed-dev
	$(BIN)/python -m ruff check .

## make bench: the benchmarks (figures and ratios; see docs/results.md)
bench: $(VENV)/.installed
	$(BIN)/python -m benchmarks.sample_world_baselines
	$(BIN)/python -m benchmarks.search_bench
	$(BIN)/python -m benchmarks.fastai_vs_pytorch
	$(BIN)/python -m benchmarks.loader_bench

## make gpu-wheels: the wheels the GPU check needs on a machine without network, for CPython 3.12 (.gpu-wheels/, < 60 MiB)
gpu-wheels: $(VENV)/.installed
	$(BIN)/python -m tools.gpu_wheels

## make samples: regenerate data_samples/ from its seed
samples: $(VENV)/.installed
	$(BIN)/python -m utils.sample_world

clean-outputs:
	rm -rf outputs
