# The two commands of the README, and a few more. CMake does the building; this file only
# names the everyday tasks and makes sure the machine has what they need.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
JOBS       ?= $(shell nproc)
PREFIX     ?= /usr/local

.PHONY: all build setup check test test-asan fuzz demo bench bench-instructions format clean install deb

all: build

setup:
	@scripts/setup

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

$(ASAN_BUILD)/CMakeCache.txt:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DIOTSEC_SANITIZE=ON

# Every test (the store's and capabilities' store tests and the e2e suite on SQLite and again on
# a throwaway PostgreSQL server: label pg), then the unit tests (both engines) and the
# end-to-end tests (SQLite) again under ASan+UBSan in their own build directory (there the e2e
# tests drive the sanitised daemon).
check: setup
	$(MAKE) build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	$(MAKE) test-asan

test-asan: $(ASAN_BUILD)/CMakeCache.txt
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS) -L 'unit|e2e|pg_unit'

$(FUZZ_BUILD)/CMakeCache.txt:
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DIOTSEC_FUZZ=ON

# The libFuzzer harnesses (tests/fuzz, clang, ASan+UBSan) in their own build directory, each
# run for FUZZ_SECONDS (FUZZ=name... for some only); one JSON line per harness.
fuzz: setup $(FUZZ_BUILD)/CMakeCache.txt
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzzers
	scripts/fuzz $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ)

demo: setup
	@$(MAKE) --no-print-directory build >/dev/null
	@scripts/demo $(BUILD)

# The optional second demo: three instances on one PostgreSQL, one killed mid-run.
demo-cluster: setup
	@$(MAKE) --no-print-directory build >/dev/null
	@scripts/demo-cluster $(BUILD)

bench: setup
	@$(MAKE) --no-print-directory build >/dev/null
	@$(BUILD)/tools/iotsec-bench/iotsec-bench all

# Instructions per complete 5G AKA under callgrind: a figure a busy machine does not move.
# BASELINE=path/to/another/iotsecd measures that build too, in the same run.
bench-instructions:
	@$(MAKE) --no-print-directory build >/dev/null
	@scripts/bench-aka-instructions $(BUILD) $(BASELINE)

# The daemon, tools, device SDK and service files under $(DESTDIR)$(PREFIX) (dist/CMakeLists.txt).
install: build
	DESTDIR=$(DESTDIR) cmake --install $(BUILD) --prefix $(PREFIX)

# A Debian package (scripts/deb: dpkg-deb) of what `make install PREFIX=/usr` installs, in DEB_OUT.
DEB_OUT ?= $(BUILD)/deb
deb: build
	scripts/deb $(BUILD) $(DEB_OUT)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
