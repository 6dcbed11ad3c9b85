# OpsPilot front end. The two commands:
#   make demo   set up (packages, Release build) and run the demo shop job
#   make test   set up, build and run the whole test suite
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
BUILD_TYPE ?= Release
# Warnings are errors in CI (CI=true); locally they are warnings.
WERROR ?= $(if $(filter true,$(CI)),ON,OFF)
CMAKE_ARGS ?=

.PHONY: all bootstrap configure build demo test bench format clean

all: build

bootstrap:
	@scripts/bootstrap.sh

configure: bootstrap
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DOPSPILOT_WERROR=$(WERROR) $(CMAKE_ARGS) >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

demo: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS) --target opspilot opspilot-nn
	@$(BUILD_DIR)/opspilot demo

test: build
	@ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

bench: build
	@bench/run_all.sh $(BUILD_DIR)

format:
	@clang-format -i $$(git ls-files 'src/*.cc' 'src/*.h' 'bench/*.cc')

clean:
	@rm -rf $(BUILD_DIR)
