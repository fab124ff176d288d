# The two commands of the README: `make run` and `make test`. Both install what the build needs
# (Debian packages, only when missing), configure, build, then run or test.

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 600
FUZZ_TEST_SECONDS ?= 20
SOAK_SECONDS ?= 600
DATA       ?= var/demo
LISTEN     ?= 127.0.0.1:8080
SCREEN     ?= 127.0.0.1:8090
COUNT      ?= 100000
JLIS        = $(BUILD)/src/cli/jlis

PACKAGES = cmake ninja-build g++ pkg-config libssl-dev libsqlite3-dev libicu-dev libboost-dev \
           nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev libgtest-dev libgmock-dev \
           libp11-dev libp11-kit-dev softhsm2 openssl libpq-dev \
           libcairo2-dev libpango1.0-dev libqrencode-dev fonts-noto-cjk libyaml-cpp-dev libpodofo-dev
# The real clients the PKI tests run against our certificates, CRLs and OCSP responses.
# clang and its runtime build the libFuzzer targets (make test runs them briefly).
# postgresql-15: the server the _pg tests start for themselves (tests/store/postgres_server.sh).
# pg_auto_failover (monitor extension and pg_autoctl): the two-centre failover drill
# (tests/centres/formation.sh) and bench/failover_time.sh.
# poppler-utils (pdftotext, pdffonts, pdftoppm): what the document tests read the PDFs with;
# zbar-tools (zbarimg): what they read the documents' verification QR codes with.
# poppler-utils (pdfsig) and mupdf-tools (mutool sign -v): the two PDF readers the signatures are
# verified with.
# chromium: the browser the web pages' tests open them in (headless).
TEST_PACKAGES = poppler-utils mupdf-tools zbar-tools gnutls-bin libnss3-tools python3-cryptography clang libclang-rt-14-dev postgresql-15 \
                postgresql-15-auto-failover pg-auto-failover-cli chromium
# The contract tests (tools/contract): Node and npm (Debian's nodejs/npm when the machine has none;
# Redocly CLI 2 needs Node >= 20.19), then the npm packages pinned in tools/contract/package-lock.json.
NODE_PACKAGES = nodejs npm
CONTRACT = tools/contract
# python3-matplotlib: the growth curve's plot (bench/scale_plot.py, run by Debian's /usr/bin/python3).
BENCH_PACKAGES = wrk nginx-light curl sqlite3 python3-cryptography postgresql-15 python3-matplotlib
# make bench-scale: the growth curve (bench/scale.sh); sizes overridable, e.g. SIZES="10000 30000".
SIZES ?= 1000000 3000000 10000000
SCALE_RESULTS ?= var/bench-scale/$(shell date -u +%Y%m%dT%H%M%SZ)

.PHONY: all deps test-deps contract-deps build run test test-fast test-asan test-fuzz fuzz-build fuzz soak bench-deps bench bench-scale clean

all: build

# Installs the missing Debian packages of $(1).
define apt_install
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:" $$missing; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

deps:
	$(call apt_install,$(PACKAGES))

build: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DJLIS_WERROR=ON
	cmake --build $(BUILD)

run: build
	./scripts/demo.sh $(JLIS) $(DATA) $(LISTEN) $(COUNT) $(SCREEN)

# The whole suite, then again under AddressSanitizer + UndefinedBehaviorSanitizer, then a short
# run of each fuzz target over its seed corpus.
test: test-fast test-asan test-fuzz

test-deps: deps contract-deps
	$(call apt_install,$(TEST_PACKAGES))

contract-deps:
	@if ! command -v node >/dev/null || ! command -v npm >/dev/null; then \
	  echo "installing Debian packages: $(NODE_PACKAGES)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $(NODE_PACKAGES); \
	fi
	@if [ ! -f $(CONTRACT)/node_modules/.package-lock.json ] || \
	    [ $(CONTRACT)/package-lock.json -nt $(CONTRACT)/node_modules/.package-lock.json ]; then \
	  cd $(CONTRACT) && npm ci --no-audit --no-fund; \
	fi

# Three at a time on two cores: the tests wait on fsyncs, servers and browsers as well as computing
# (a -j2 run of the normal build kept the two cores 60 % busy; at -j3 they are busy throughout, so a
# build beside the suite only slows it: docs/ARCHITECTURE.md §9); the sanitizer pass too.
test-fast: build test-deps
	cd $(BUILD) && ctest --output-on-failure -j3

test-asan: test-deps
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DJLIS_SANITIZE=ON -DJLIS_WERROR=ON
	cmake --build $(ASAN_BUILD)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j3

# The libFuzzer targets of fuzz/ (clang, -fsanitize=fuzzer,address,undefined; docs/FUZZING.md).
fuzz-build: test-deps
	cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DJLIS_FUZZ=ON \
	  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
	cmake --build $(FUZZ_BUILD) --target fuzz_all

test-fuzz: fuzz-build
	./scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_TEST_SECONDS)

# Each fuzz target for FUZZ_SECONDS (make fuzz FUZZ_SECONDS=3600; FUZZ_TARGETS= picks some).
fuzz: fuzz-build
	./scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Ten minutes of mixed traffic against `jlis serve` at 80 % of its measured maximum (docs/PERFORMANCE.md).
soak: build
	./bench/soak.sh $(JLIS) $(SOAK_SECONDS)

bench-deps: deps
	$(call apt_install,$(BENCH_PACKAGES))

bench: bench-deps build
	cmake --build $(BUILD) --target benchmarks
	./bench/run.sh $(BUILD)

# The growth curve: load rate, lookups, search p99, bytes per resident and serve memory at each of
# SIZES residents, a table, a plot and a linear extrapolation to 125 M (docs/PERFORMANCE.md).
# On demand only: the 10 M run takes hours and is never part of make test.
bench-scale: bench-deps build
	cmake --build $(BUILD) --target jlis search_latency
	./bench/scale.sh $(BUILD) $(SCALE_RESULTS) $(SIZES)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
