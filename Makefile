# sealgate — make demo | make test | make bench
SWIFT ?= swift
SWIFT_FLAGS ?=
# The release binary links the Swift runtime and Foundation statically: 10 MiB less resident memory.
# The release flags (and why): scripts/release-flags.
RELEASE_FLAGS ?= $(shell grep -v "^#" scripts/release-flags)
BIN_DEBUG = .build/debug/sealgate
BIN_RELEASE = .build/release/sealgate

.PHONY: all deps build release dist demo demo-package demo-scaleout test lint format bench bench-national fuzz clean help

all: build

help:
	@echo "make demo   - the city's campaign cycle on loopback: 173 units seal and submit, synthesis, forwarding to the handbook receiver"
	@echo "make demo-package - the seal → verify → open round trip of one package, also with the stock tar/minisign/age"
	@echo "make demo-scaleout - two gateway processes on one throwaway PostgreSQL: one outcome per package, the forwarder's lease taken over after kill -9"
	@echo "make test   - install what is missing, build, run every test (vectors, interop, tamper) on SQLite and a throwaway PostgreSQL"
	@echo "make lint   - swift-format (.swift-format: 150 columns) over the tree, and the test lint (expectations that cannot fail)"
	@echo "make format - apply swift-format to the tree"
	@echo "make dist   - a stripped sealgate without Swift (static runtime and Foundation) as dist/*.tar.gz and dist/*.deb, then checked (scripts/check-dist)"
	@echo "make bench  - seal/open throughput and peak RSS against the stock minisign+age pipeline"
	@echo "make fuzz   - libFuzzer + AddressSanitizer over every parser a stranger reaches (10 million inputs a target)"

deps:
	@scripts/install-deps

build: deps
	$(SWIFT) build $(SWIFT_FLAGS)

release: deps
	$(SWIFT) build $(RELEASE_FLAGS) $(SWIFT_FLAGS)

demo: deps
	$(SWIFT) build $(SWIFT_FLAGS)
	@scripts/demo $(BIN_DEBUG)

# Two gateway processes on one (throwaway) PostgreSQL: one outcome per package, a lease taken over.
demo-scaleout: deps
	$(SWIFT) build $(SWIFT_FLAGS)
	@scripts/demo-scaleout $(BIN_DEBUG)

demo-package: deps
	$(SWIFT) build $(SWIFT_FLAGS)
	@scripts/demo-package $(BIN_DEBUG)

# The tests run against a throwaway PostgreSQL cluster (initdb in a temporary folder, a free
# loopback port), stopped and removed at the end; SQLite needs nothing.
# The city's demo runs first (quietly; its output is shown when it fails): a change that breaks the
# main job fails the tests, not only the reader who types `make demo`.
test: deps lint
	$(SWIFT) build --build-tests $(SWIFT_FLAGS)
	@scripts/demo $(BIN_DEBUG) > .build/demo.log 2>&1 && echo "demo: the city's cycle ran (.build/demo.log)" || { tail -n 40 .build/demo.log; echo "demo: FAILED (.build/demo.log)"; exit 1; }
	@PG_FSYNC=off scripts/pg-cluster run $(SWIFT) test --skip-build $(SWIFT_FLAGS)
	@scripts/dist > .build/dist.log 2>&1 && echo "dist: built ($$(tail -n 2 .build/dist.log | tr '\n' ' '))" || { tail -n 40 .build/dist.log; echo "dist: FAILED (.build/dist.log)"; exit 1; }
	@scripts/check-dist > .build/check-dist.log 2>&1 && { grep -v "lintian: W:" .build/check-dist.log; true; } || { cat .build/check-dist.log; echo "check-dist: FAILED"; exit 1; }

# The formatter ships with the Swift toolchain (swift-format); the configuration is .swift-format.
SWIFT_FORMAT ?= $(shell command -v swift-format 2>/dev/null || echo "$(SWIFT) format")
FORMATTED = Sources Tests Fuzz Package.swift Benchmarks/Package.swift Benchmarks/Sources Benchmarks/Benchmarks

lint:
	@scripts/lint-tests
	@$(SWIFT_FORMAT) lint --strict --recursive $(FORMATTED) && echo "lint: swift-format clean ($(FORMATTED))"

format:
	$(SWIFT_FORMAT) format --in-place --recursive $(FORMATTED)

bench: deps
	$(SWIFT) build $(RELEASE_FLAGS) $(SWIFT_FLAGS)
	@scripts/bench $(BIN_RELEASE)

# sealgate for a machine without Swift: scripts/dist builds (release, static Swift runtime and Foundation, stripped)
# and packs dist/sealgate-VERSION-linux-ARCH.tar.gz and dist/sealgate_VERSION_ARCH.deb; scripts/check-dist unpacks
# them into an empty folder and runs the binary with an empty environment (ldd, Depends, man pages, lintian).
dist: deps
	@scripts/dist
	@scripts/check-dist

# libFuzzer + AddressSanitizer over every parser a stranger reaches (scripts/fuzz); not part of `make test`,
# which replays the corpora. FUZZ_RUNS (default 10,000,000 a target) or FUZZ_SECONDS.
fuzz: deps
	@scripts/fuzz

bench-national: deps
	$(SWIFT) build $(RELEASE_FLAGS) $(SWIFT_FLAGS)
	@BENCH_SECTIONS=cycle BENCH_NATIONAL=1 scripts/bench $(BIN_RELEASE)

clean:
	rm -rf .build demo-out bench-out dist
