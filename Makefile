# SessionVault — the two set-up commands on a fresh Debian/Ubuntu machine with the Swift toolchain:
#   make demo   build and run the end-to-end demo
#   make test   the whole test suite (what .ci/run runs)
# Both install what is missing first (libsodium-dev libsqlite3-dev pkg-config, via apt-get).

SWIFT ?= swift
# CI builds with warnings as errors.
STRICT := -Xswiftc -warnings-as-errors
BIN := .build/debug/session-vault

.PHONY: all deps build demo test bench bench-compare fixtures fixtures-check clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build $(STRICT)

demo: build
	$(BIN) demo

# The whole suite: strict build of everything, then every test, then the demo end to end
# (on SQLite and forced memory-only).
test: deps
	$(SWIFT) build --build-tests $(STRICT)
	$(SWIFT) test --skip-build
	$(BIN) demo --saves 100
	SESSION_VAULT_SQLITE_LIBRARY=/nonexistent/libsqlite3.so.0 $(BIN) demo --saves 100
	$(BIN) bench --quick --dir "$${TMPDIR:-/tmp}" > /dev/null

# The full benchmark (release build), and the comparison with Telethon's plaintext session.
bench: deps
	$(SWIFT) build -c release --product session-vault
	.build/release/session-vault bench --dir "$${BENCH_DIR:-.}"

bench-compare: deps
	$(SWIFT) build -c release --product session-vault
	python3 bench/telethon_compare.py --binary .build/release/session-vault --dir "$${BENCH_DIR:-$$(mktemp -d)}"

# Known-answer vaults, tamper corpus, vectors and manifest (Fixtures/README.md). Adds new fixtures;
# refuses to change existing ones (pass FIXTURES_FLAGS=--force only for an unreleased format).
fixtures: deps
	$(SWIFT) build --product sv-fixtures $(STRICT)
	.build/debug/sv-fixtures --output Fixtures $(FIXTURES_FLAGS)

# Only the fixture checks (`make test` runs them too): hashes, outcomes, contents, vectors, determinism.
fixtures-check: deps
	$(SWIFT) build --build-tests $(STRICT)
	$(SWIFT) test --skip-build --filter SessionVaultFixtureTests

clean:
	rm -rf .build
