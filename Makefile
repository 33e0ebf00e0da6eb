# lpnd: the two commands of the README are `make demo` and `make test`.
SWIFT ?= swift
LPND := .build/release/lpnd
DEMO_OUT ?= demo-out

.PHONY: deps build test demo bench models results prior clean

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build -c release --product lpnd

# Every test (release mode: the numerical tests run on optimised code), then the Python
# client's end-to-end test against the built daemon.
test: deps
	$(SWIFT) test -c release
	scripts/test-python-client.sh

# The main job on embedded defaults.
demo: build
	scripts/demo.sh $(LPND) $(DEMO_OUT)

# lpnd against PyTorch eager on the same weights, same run (needs PyTorch; see docs/BENCHMARKS.md).
bench: build
	python3 benchmarks/prox_vs_torch.py --lpnd $(LPND)

# docs/RESULTS.md and docs/figures/ (lpnd CLI + numpy/scikit-image/matplotlib; minutes).
results: build
	python3 benchmarks/results.py --lpnd $(LPND)

# Retrain the shipped models (PyTorch, CPU, about 1.5 hours; see docs/MODELS.md).
models: build
	training/train_all.sh

# docs/figures/prior_phi.png and the φ table of docs/MODELS.md (lpnd prior on perturbed held-out images).
prior: build
	python3 training/prior_plot.py --lpnd $(LPND)

clean:
	rm -rf .build $(DEMO_OUT)
