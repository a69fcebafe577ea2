# SessionVault — the two set-up commands on a fresh Debian/Ubuntu machine with the Swift toolchain:
#   make demo   build and run the end-to-end demo
#   make test   the whole test suite (what .ci/run runs)
# Both install what is missing first (libsodium-dev libsqlite3-dev pkg-config faketime, via apt-get).

SWIFT ?= swift
# CI builds with warnings as errors.
STRICT := -Xswiftc -warnings-as-errors
# The package trait that adds PostgreSQL (postgres-nio, SwiftNIO). `make demo` and `make build` leave
# it off, as a consumer of the library does; `make test` turns it on to test the PostgreSQL backend.
WITH_POSTGRES := --traits PostgreSQL
BIN := .build/debug/session-vault

.PHONY: all deps build demo test install docs-check bench bench-compare fixtures fixtures-check interop-venvs interop-check converted-venvs converted-producer-check converted-check crash-test sanitize decoder-check sanitize-address fuzz fuzz-build fuzz-regressions clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build $(STRICT)

demo: build
	$(BIN) demo

# The whole suite: strict build of everything, then every test, then the demo end to end
# (on SQLite and forced memory-only).
test: deps docs-check
	$(SWIFT) build --build-tests $(STRICT) $(WITH_POSTGRES)
	@$(MAKE) --no-print-directory interop-venvs || echo "make test: no interop venvs; the real-library export check is SKIPPED (see the test log)"
	@$(MAKE) --no-print-directory converted-venvs || echo "make test: no tgconvertor venv; the converted-fixture checks are SKIPPED"
	@# A run that hangs is stopped with SIGQUIT (the Swift runtime prints every thread's backtrace)
	@# long before CI's limit: the main run takes 1-2 min, the lease suites about 30 s.
	timeout -k 30 -s QUIT 900 scripts/with-postgres.sh $(SWIFT) test --skip-build $(WITH_POSTGRES)
	@# Timing-sensitive (renewals within 2-4 s) and heavy (1,000 sessions): alone.
	SESSION_VAULT_LEASE_TESTS=1 timeout -k 30 -s QUIT 600 scripts/with-postgres.sh $(SWIFT) test --skip-build $(WITH_POSTGRES) --filter "PostgresLeaseTests|PostgresRenewalBatchTests"
	@# About a hundred Python processes: alone, not beside the timing-sensitive tests.
	SESSION_VAULT_REAL_LIBRARIES=1 $(SWIFT) test --skip-build $(WITH_POSTGRES) --filter InteropRealLibraryTests
	$(BIN) demo --saves 100
	SESSION_VAULT_SQLITE_LIBRARY=/nonexistent/libsqlite3.so.0 $(BIN) demo --saves 100
	$(BIN) bench --quick --dir "$${TMPDIR:-/tmp}" > /dev/null
	@dir=$$(mktemp -d) && $(MAKE) --no-print-directory install PREFIX="$$dir" CONFIGURATION=debug INSTALL_TRAITS=PostgreSQL INSTALL_FLAGS="$(STRICT)" > /dev/null \
		&& "$$dir/bin/session-vault" --version && rm -rf "$$dir"
	@$(MAKE) --no-print-directory python-test
	@$(MAKE) --no-print-directory decoder-check
	@if [ -f $(CONVERTED_MARKER) ]; then $(MAKE) --no-print-directory converted-producer-check; \
		else echo "make test: no tgconvertor venv; make_converted.py --check is SKIPPED"; fi
	@$(MAKE) --no-print-directory sanitize
	@$(MAKE) --no-print-directory sanitize-address
	@$(MAKE) --no-print-directory fuzz-regressions

# Installs the `session-vault` command (the agent the Python package starts) into $(PREFIX)/bin:
#   make install PREFIX=$$HOME/.local                       SQLite vaults
#   make install PREFIX=/usr/local INSTALL_TRAITS=PostgreSQL  also PostgreSQL locations (builds SwiftNIO)
# CONFIGURATION=debug installs the debug build instead (make test checks the target that way).
PREFIX ?= /usr/local
CONFIGURATION ?= release
INSTALL_TRAITS ?=
INSTALL_FLAGS ?=
install: deps
	$(SWIFT) build -c $(CONFIGURATION) --product session-vault $(INSTALL_FLAGS) $(if $(INSTALL_TRAITS),--traits $(INSTALL_TRAITS))
	install -d "$(DESTDIR)$(PREFIX)/bin"
	install -m 0755 "$$($(SWIFT) build -c $(CONFIGURATION) --show-bin-path $(if $(INSTALL_TRAITS),--traits $(INSTALL_TRAITS)))/session-vault" "$(DESTDIR)$(PREFIX)/bin/session-vault"
	@echo "installed $(DESTDIR)$(PREFIX)/bin/session-vault"

# Every ```swift block of README.md, of the DocC articles (Sources/*/*.docc) and of the `///` comments,
# compiled against the library with warnings as errors: scripts/extract_swift_examples.py writes them
# into the DocumentationExamples test target (Tests/DocumentationExamples/Generated/, git-ignored).
# A block that does not compile fails with its Markdown (or Swift) file and line.
docs-check: deps
	python3 scripts/extract_swift_examples.py
	@$(SWIFT) build --target DocumentationExamples $(STRICT) $(WITH_POSTGRES) || { echo "docs-check: a Swift code block of the documentation does not compile; the errors above name its file and line (markers: scripts/extract_swift_examples.py --help)"; exit 1; }

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

# The pinned Telethon 1.45.0/1.42.0, Pyrogram 2.0.106 and Kurigram 2.2.26 venvs (pip, PyPI; about
# a minute the first time, reused afterwards) in Fixtures/.venv, which InteropRealLibraryTests uses to
# load every export with the real libraries. Without them that suite is skipped with a message; it
# also runs only where SESSION_VAULT_REAL_LIBRARIES=1 (make test runs it alone, after the main run).
interop-venvs:
	cd Fixtures/interop && python3 -c "import sys; sys.dont_write_bytecode = True; import generate as G; [G.ensure_venv(G.DEFAULT_VENV_DIR, n) for n in G.PINS]"

# Only the interop tests, with the real-library check (creates the venvs first).
interop-check: deps interop-venvs
	$(SWIFT) build --build-tests $(STRICT)
	SESSION_VAULT_REAL_LIBRARIES=1 $(SWIFT) test --skip-build --filter Interop

# The fixture producers' own checks (issue #14): the pinned tgconvertor 0.3.0 + opentele2 2.0.0 venv of
# Fixtures/interop/make_converted.py (Fixtures/.venv/tgconvertor-0.3.0, git-ignored; pip once, offline
# afterwards), then `make_converted.py --check` (every GramJS string and tdata folder re-read by the
# library that made it, facts compared with converted-manifest.json) and the tgconvertor read-back of
# every GramJS export (InteropJSGoFormatTests/tgconvertorLoadsEveryGramJSExport, which `make test` runs
# in its main swift test run once the venv exists). The legacy opentele 1.15.1 venv (PyQt5) is only
# needed to remake its fixtures (make_converted.py without --check), so it is not created here.
CONVERTED_MARKER := Fixtures/.venv/tgconvertor-0.3.0/sessionvault-pins.json
converted-venvs:
	cd Fixtures/interop && python3 -c "import sys; sys.dont_write_bytecode = True; import make_converted as M; M.venv_python(M.VENV)"

converted-producer-check: converted-venvs
	python3 Fixtures/interop/make_converted.py --check

converted-check: deps converted-producer-check
	$(SWIFT) build --build-tests $(STRICT) $(WITH_POSTGRES)
	$(SWIFT) test --skip-build $(WITH_POSTGRES) --filter 'tgconvertorLoadsEveryGramJSExport|TDataImportTests'

# The crash harness alone, long: CRASH_KILLS SIGKILLs of `session-vault soak` (`make test` runs 100 as
# part of the suite). CRASH_SEED=<n> replays a kill schedule. Counts are printed as "[reliability] …".
CRASH_KILLS ?= 1000
crash-test: deps
	$(SWIFT) build --build-tests $(STRICT) $(WITH_POSTGRES)
	SESSION_VAULT_CRASH_KILLS=$(CRASH_KILLS) $(if $(CRASH_SEED),SESSION_VAULT_CRASH_SEED=$(CRASH_SEED)) \
		$(SWIFT) test --skip-build --filter CrashHarnessTests

# The independent decoder (Python + PyNaCl, written from docs/FORMAT.md alone) against every fixture.
decoder-check:
	python3 Fixtures/decoder/check_manifest.py

# The whole suite again under the thread sanitizer, in its own scratch path (children are the
# sanitized session-vault too). The long reliability runs are shortened; the memory scan and the
# RLIMIT_FSIZE test skip themselves (sanitizer shadow memory). Suppressions: tsan-suppressions.txt
# (children run as nobody get a copy beside a copy of the binary, CommandAsNobody.swift, so the
# checkout may sit in a directory only its owner can enter).
# Skipped here (they run unsanitized in `make test`): the two CLI suites that wait a fixed 20 s for
# a child's output on a pseudo-terminal or during `show --hold`, which TSan's slowdown makes flaky,
# and the serve agent's suite, which checks that the (here sanitized) agent's stderr stays empty.
# The sanitizer builds leave the PostgreSQL trait (and so SwiftNIO) off: see Package.swift.
sanitize: deps
	$(SWIFT) build --build-tests --sanitize=thread --scratch-path .build-tsan $(STRICT)
	TSAN_OPTIONS="suppressions=$(CURDIR)/tsan-suppressions.txt" SESSION_VAULT_SANITIZER=thread \
		SESSION_VAULT_CRASH_KILLS=20 SESSION_VAULT_POWER_LOSS_TRIALS=40 SESSION_VAULT_CONTENTION_ROUNDS=8 \
		$(SWIFT) test --skip-build --sanitize=thread --scratch-path .build-tsan \
		--skip 'TerminalTests|EnvironmentScrubbingTests|ServeCommandTests'

# The fixture tests (known-answer vaults, the whole tamper corpus, vectors) under the address
# sanitizer, in their own scratch path. Leak detection is off, as swift-protobuf does on Linux.
sanitize-address: deps
	$(SWIFT) build --build-tests --sanitize=address --scratch-path .build-asan $(STRICT)
	ASAN_OPTIONS=detect_leaks=0 $(SWIFT) test --skip-build --sanitize=address --scratch-path .build-asan \
		--filter SessionVaultFixtureTests

# libFuzzer targets (FuzzTesting/README.md): a separate package built with the fuzzer and address
# sanitizers. `make fuzz` runs each target for FUZZ_RUNS_<target> executions from its seed corpus
# (two at a time; FUZZ_SEED=<n> replays a run) and prints libFuzzer's final line (cov, ft) for each.
# Crashers land in FuzzTesting/FailCases/<target>/ and are kept there as regression inputs, which
# `make fuzz-regressions` (part of `make test`) replays with the seed corpus, without fuzzing.
FUZZ_TARGETS := SessionString SealedString RecordCodec RecoveryKey VaultFile InteropString TDataFolder
FUZZ_RUNS_SessionString ?= 200000
FUZZ_RUNS_InteropString ?= 200000
FUZZ_RUNS_TDataFolder ?= 50000
FUZZ_RUNS_SealedString ?= 100000
FUZZ_RUNS_RecordCodec ?= 1000000
FUZZ_RUNS_RecoveryKey ?= 200000
FUZZ_RUNS_VaultFile ?= 30000
FUZZ_SEED ?= 0
FUZZ_BIN := FuzzTesting/.build/debug
FUZZ_WORK := FuzzTesting/.build/fuzz-work

fuzz-build: deps
	@mkdir -p FuzzTesting/.build
	cd FuzzTesting && $(SWIFT) build -c debug -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library $(STRICT) \
		> .build/build.log 2>&1; status=$$?; grep -v "Cannot export local symbol '__asan" .build/build.log; exit $$status

fuzz: fuzz-build
	@rm -rf $(FUZZ_WORK) && mkdir -p $(FUZZ_WORK)
	@$(MAKE) --no-print-directory -j2 $(addprefix fuzz-run-,$(FUZZ_TARGETS)); status=$$?; \
		echo "[fuzz] target: final libFuzzer line (executions, cov = edges, ft = features, corpus), seconds"; \
		for t in $(FUZZ_TARGETS); do \
			echo "[fuzz] $$t: $$(grep -E '^#[0-9]+.*DONE' $(FUZZ_WORK)/$$t.log | tail -1) ($$(cat $(FUZZ_WORK)/$$t.seconds 2>/dev/null || echo ?) s, $$(grep -m1 -o 'Seed: [0-9]*' $(FUZZ_WORK)/$$t.log))"; \
		done; exit $$status

fuzz-run-%:
	@mkdir -p FuzzTesting/FailCases/$* $(FUZZ_WORK)/$*
	@start=$$(date +%s); \
	if $(FUZZ_BIN)/Fuzz$* -runs=$(FUZZ_RUNS_$*) -seed=$(FUZZ_SEED) -timeout=30 -rss_limit_mb=4096 \
		-artifact_prefix=FuzzTesting/FailCases/$*/ $(FUZZ_WORK)/$* FuzzTesting/Corpus/$* > $(FUZZ_WORK)/$*.log 2>&1; \
	then echo $$(( $$(date +%s) - start )) > $(FUZZ_WORK)/$*.seconds; \
	else tail -60 $(FUZZ_WORK)/$*.log; echo "[fuzz] $* FAILED: the input is in FuzzTesting/FailCases/$*/ (FuzzTesting/README.md)"; exit 1; fi

# Every kept crasher and every seed, executed once by each fuzz binary (no fuzzing).
fuzz-regressions: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
		files=$$(find FuzzTesting/FailCases/$$t FuzzTesting/Corpus/$$t -type f ! -name '.*' 2>/dev/null | sort); \
		if [ -z "$$files" ]; then echo "[fuzz] $$t: no inputs to replay (FuzzTesting/Corpus/$$t is empty)"; exit 1; fi; \
		$(FUZZ_BIN)/Fuzz$$t $$files > $(FUZZ_BIN)/regressions-$$t.log 2>&1 \
			|| { tail -60 $(FUZZ_BIN)/regressions-$$t.log; echo "[fuzz] $$t: a regression input fails"; exit 1; }; \
		echo "[fuzz] $$t: $$(echo $$files | wc -w) inputs replayed, no failure"; \
	done

clean:
	rm -rf .build .build-tsan .build-asan FuzzTesting/.build

# Python: the sessionvault package (python/)
# python-venvs: the pinned Telethon 1.45.0, Pyrogram 2.0.106, Kurigram 2.2.26 and Pyrofork 2.3.69
# venvs with pytest, in python/.venv (pip, PyPI; about a minute the first time, reused afterwards).
# python-test: pytest in each venv against the real agent ($(BIN), which `make test` builds first),
# with a throw-away PostgreSQL for the pg: location test; prints one summary line per venv and fails
# when a venv fails or collects no test.
# bench-python: the adapter's durable saves against Telethon's SQLiteSession, the agent round trip
# against the in-process save, and the agent's peak RSS (release build; one JSON object and a table).
.PHONY: python-venvs python-test bench-python
python-venvs:
	python3 python/tests/venvs.py create

python-test: python-venvs
	@test -x $(BIN) || { echo "python-test: $(BIN) is missing: build it first (make test does)"; exit 1; }
	SESSION_VAULT_BINARY=$(CURDIR)/$(BIN) scripts/with-postgres.sh python3 python/tests/venvs.py test

bench-python: deps
	$(SWIFT) build -c release --product session-vault
	python3 python/tests/venvs.py create telethon-1.45.0
	python3 bench/python_bench.py --binary .build/release/session-vault --dir "$${BENCH_DIR:-.}"
