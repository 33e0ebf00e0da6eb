# lpnd: the two commands of the README are `make demo` and `make test`.
SWIFT ?= swift
LPND := .build/release/lpnd
DEMO_OUT ?= demo-out

PREFIX ?= /usr/local
DESTDIR ?=
SHARE := $(PREFIX)/share/lpnd
# The models the shipped pipelines name: what `make install` installs (models/ also keeps the
# training runs and the experiments of docs/MODELS.md, which stay in the repository).
SHIPPED_MODELS := $(sort $(patsubst ../%,%,$(shell grep -ho '\.\./models/[A-Za-z0-9_.-]*\.safetensors' pipelines/*.yaml)))

.PHONY: deps build test demo install bench models results prior clean

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build -c release --product lpnd

# Every test (release mode: the numerical tests run on optimised code), then the shipped
# pipelines against the noise-level rule and the Python client's end-to-end test against the
# built daemon.
test: deps
	$(SWIFT) test -c release
	scripts/test-python-client.sh
	scripts/test-install.sh
	scripts/test-browser.sh

# Binary to $(PREFIX)/bin, pipelines and the models they name to $(PREFIX)/share/lpnd, docs to
# $(PREFIX)/share/doc/lpnd, units to /etc/systemd/system, and /etc/lpnd/lpnd.yaml (kept when it
# exists) pointing at the installed pipelines (docs/DEPLOY.md). DESTDIR stages it elsewhere.
install:
	@test -x $(LPND) || $(MAKE) build
	install -Dm755 $(LPND) $(DESTDIR)$(PREFIX)/bin/lpnd
	install -d $(DESTDIR)$(SHARE)/pipelines $(DESTDIR)$(SHARE)/models $(DESTDIR)$(PREFIX)/share/doc/lpnd $(DESTDIR)/etc/lpnd
	install -m644 pipelines/*.yaml $(DESTDIR)$(SHARE)/pipelines/
	install -m644 $(SHIPPED_MODELS) $(DESTDIR)$(SHARE)/models/
	install -m644 docs/*.md $(DESTDIR)$(PREFIX)/share/doc/lpnd/
	install -Dm644 -t $(DESTDIR)/etc/systemd/system systemd/lpnd.service systemd/lpnd@.service
	test -e $(DESTDIR)/etc/lpnd/lpnd.yaml || sed 's|file: pipelines/|file: $(SHARE)/pipelines/|' lpnd.yaml > $(DESTDIR)/etc/lpnd/lpnd.yaml

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
