# Coffer: `make run` serves on the embedded default, `make test` runs every test.
SHELL := /bin/bash
JOBS ?= 2
BUILD ?= build
ASAN_BUILD ?= build-asan

.PHONY: run test build build-asan deps deps-test unit bench clean

deps:
	@scripts/install-deps.sh build

deps-test:
	@scripts/install-deps.sh test

build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

build-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCOFFER_SANITIZE=ON \
	  -DCOFFER_BUILD_BENCH=OFF -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" >/dev/null
	@cmake --build $(ASAN_BUILD) -j$(JOBS)

run: build
	@scripts/first-steps.sh
	@exec ./$(BUILD)/coffer serve

test: deps-test build build-asan
	@scripts/run-tests.sh $(BUILD) $(ASAN_BUILD)

bench: build
	@scripts/install-deps.sh bench
	@bench/run.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
