# SPDX-License-Identifier: MIT
# A thin wrapper over CMake presets (CMakePresets.json). Every target first installs
# missing Debian packages (scripts/deps.sh: quiet when present, apt-get as root).
#   make run       build (default preset) and run the main job
#   make test      build and run the cmocka suite through CTest (gcc, asserts on)
#   make test-asan the same suite under clang ASan + UBSan
#   make test-clang the same suite built with clang (warnings as errors)
#   make clean
MAKEFLAGS += --no-print-directory
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CTEST_FLAGS ?=

.PHONY: all deps build run test test-asan test-clang clean

all: build

deps:
	@scripts/deps.sh

build: deps
	@cmake --preset default >/dev/null
	@cmake --build --preset default -j $(JOBS)

run: build
	@./build/default/examples/gale_demo

test: build
	@ctest --preset default -j $(JOBS) $(CTEST_FLAGS)

test-asan: deps
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan -j $(JOBS)
	@ctest --preset asan -j $(JOBS) $(CTEST_FLAGS)

test-clang: deps
	@cmake --preset clang >/dev/null
	@cmake --build --preset clang -j $(JOBS)
	@ctest --preset clang -j $(JOBS) $(CTEST_FLAGS)

clean:
	rm -rf build
