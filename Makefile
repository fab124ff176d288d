# The two commands of the README: `make run` and `make test`. Both install what the build needs
# (Debian packages, only when missing), configure, build, then run or test.

BUILD      ?= build
ASAN_BUILD ?= build-asan
DATA       ?= var/demo
LISTEN     ?= 127.0.0.1:8080
COUNT      ?= 100000
JLIS        = $(BUILD)/src/cli/jlis

PACKAGES = cmake ninja-build g++ pkg-config libssl-dev libsqlite3-dev libicu-dev libboost-dev \
           nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev libgtest-dev libgmock-dev \
           libp11-dev libp11-kit-dev softhsm2 openssl
# The real clients the PKI tests run against our certificates, CRLs and OCSP responses.
TEST_PACKAGES = gnutls-bin libnss3-tools python3-cryptography
# The contract tests (tools/contract): Node and npm (Debian's nodejs/npm when the machine has none;
# Redocly CLI 2 needs Node >= 20.19), then the npm packages pinned in tools/contract/package-lock.json.
NODE_PACKAGES = nodejs npm
CONTRACT = tools/contract
BENCH_PACKAGES = wrk nginx-light curl

.PHONY: all deps test-deps contract-deps build run test test-fast test-asan bench-deps bench clean

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
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD)

run: build
	./scripts/demo.sh $(JLIS) $(DATA) $(LISTEN) $(COUNT)

# The whole suite, then again under AddressSanitizer + UndefinedBehaviorSanitizer.
test: test-fast test-asan

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

test-fast: build test-deps
	cd $(BUILD) && ctest --output-on-failure -j2

test-asan: test-deps
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DJLIS_SANITIZE=ON
	cmake --build $(ASAN_BUILD)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j2

bench-deps: deps
	$(call apt_install,$(BENCH_PACKAGES))

bench: bench-deps build
	cmake --build $(BUILD) --target benchmarks
	./bench/run.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
