# stackelberg: build, tests, sanitizers, benchmarks and the default run.
#
#   make            bin/stackelberg (or which Debian packages are missing)
#   make run        install missing Debian packages (as root), build, train on $(RUN_CONFIG)
#   make test       install missing Debian packages (as root), build, run every test
#   make asan       the tests again under -fsanitize=address,undefined
#   make bench      throughput and solver timings (see bench/RESULTS.md)
#   make figures RUN=DIR   PNG figures of a run directory through gnuplot
#   make clean
#
# Options: NATIVE=1 adds -march=native (machine-specific, off by default).

CC ?= cc
PKGS := openblas yaml-0.1 zlib
DEB_PKGS := gcc make pkg-config libopenblas-dev libyaml-dev zlib1g-dev libcriterion-dev \
            python3-numpy gnuplot-nox
RUN_CONFIG ?= configs/paper.yaml
RUN_OUT ?= runs/default
BUILD ?= build/release
SAN ?=

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
TEST_LIBS := $(shell pkg-config --libs criterion 2>/dev/null || echo -lcriterion)

OPT ?= -O2
CFLAGS := -std=c11 -Wall -Wextra -Werror $(OPT) -fno-math-errno -g -D_POSIX_C_SOURCE=200809L -Isrc $(PKG_CFLAGS)
ifeq ($(NATIVE),1)
CFLAGS += -march=native
endif
ifneq ($(SAN),)
CFLAGS += -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SAN)
endif
LDLIBS := $(PKG_LIBS) -lm

LIB_SRC := $(sort $(shell find src -name '*.c' ! -name main.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB := $(BUILD)/libstackelberg.a
TEST_SRC := $(sort $(wildcard tests/test_*.c))
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
BENCH_SRC := $(sort $(wildcard bench/bench_*.c))
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
BIN := bin/stackelberg
TEST_ENV :=
ifneq ($(SAN),)
BIN := $(BUILD)/stackelberg
TEST_ENV := SB_ASAN=1 ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1
endif

.PHONY: all run test asan bench bench-paper clean deps figures test-run bench-run
all: $(BIN)

$(BUILD)/%.o: %.c | pkgcheck
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(BUILD)/src/main.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/%.c $(LIB) tests/testutil.h | testcheck
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -MMD -MP -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS) $(TEST_LIBS)

$(BUILD)/bench/%: bench/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS)

# Before compiling: name the Debian packages behind a missing pkg-config module (or
# Criterion's header for the tests) rather than leave it to a compiler error.
# `make test` and `make run` as root install them first (deps below).
PKG_DEB := openblas:libopenblas-dev yaml-0.1:libyaml-dev zlib:zlib1g-dev
.PHONY: pkgcheck testcheck
pkgcheck:
	@missing=""; why=""; \
	command -v $(firstword $(CC)) >/dev/null 2>&1 || { missing=" gcc"; why="$(firstword $(CC)): not found; "; }; \
	if ! command -v pkg-config >/dev/null 2>&1; then missing="$$missing pkg-config"; why="$${why}pkg-config: not found"; \
	else for pd in $(PKG_DEB); do \
	  pkg-config --exists $${pd%%:*} 2>/dev/null || { missing="$$missing $${pd#*:}"; why="$${why}pkg-config $${pd%%:*} not found; "; }; \
	done; fi; \
	if [ -n "$$missing" ]; then \
	  echo "missing Debian packages:$$missing ($${why%; })" >&2; \
	  echo "install them with: sudo apt-get install$$missing (\`make test\` or \`make run\` as root installs them)" >&2; \
	  exit 2; \
	fi

testcheck:
	@echo '#include <criterion/criterion.h>' | $(CC) -E -x c - >/dev/null 2>&1 || { \
	  echo "missing Debian package: libcriterion-dev (criterion/criterion.h not found)" >&2; \
	  echo "install it with: sudo apt-get install libcriterion-dev (\`make test\` as root installs it)" >&2; \
	  exit 2; }

# Install what is missing (root only); otherwise say what to install.
deps:
	@missing=$$(for p in $(DEB_PKGS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:" $$missing; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	  else \
	    echo "missing Debian packages:" $$missing; \
	    echo "install them with: sudo apt-get install" $$missing; exit 1; \
	  fi; \
	fi

# Tests run from the repository root (they read configs/ and data/).
# OpenBLAS stays single-threaded: the matrices are small and forked test runners must
# not inherit a thread pool.
test: deps
	@$(MAKE) --no-print-directory test-run

test-run: $(BIN) $(TEST_BIN)
	@fail=0; for t in $(TEST_BIN); do \
	  echo "== $$t"; \
	  $(TEST_ENV) SB_BIN=$(abspath $(BIN)) OPENBLAS_NUM_THREADS=1 $$t --jobs 2 || fail=1; \
	done; \
	if [ $$fail -ne 0 ]; then echo "some tests failed"; exit 1; fi; echo "all test binaries passed"

asan: deps
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=address,undefined OPT=-O1 test-run

bench: deps
	@$(MAKE) --no-print-directory bench-run

bench-run: $(BIN) $(BENCH_BIN)
	@for b in $(BENCH_BIN); do echo "== $$b"; OPENBLAS_NUM_THREADS=1 $$b || exit 1; done

# The whole 5-seed paper run, timed, and the paper's findings checked (minutes; see
# bench/RESULTS.md).
bench-paper: deps
	@$(MAKE) --no-print-directory $(BIN)
	rm -rf runs/bench-paper
	OPENBLAS_NUM_THREADS=1 $(BIN) train configs/paper.yaml --out runs/bench-paper --quiet
	python3 tools/check_paper.py runs/bench-paper

run: deps
	@$(MAKE) --no-print-directory $(BIN)
	$(BIN) train $(RUN_CONFIG) --out $(RUN_OUT)

figures:
	@test -n "$(RUN)" || { echo "usage: make figures RUN=DIR"; exit 2; }
	tools/figures.sh $(RUN)

clean:
	rm -rf build bin

-include $(shell find build -name '*.d' 2>/dev/null)

# Fuzzing with libFuzzer under ASan+UBSan (clang only; not part of `test`: CI has gcc).
#   make fuzz                 every fuzzer for FUZZ_TIME seconds each
#   make fuzz-NAME            one: npz (policy files), matpower, gridyaml, config (+ --set)
#   make fuzz-NAME FUZZ_RUNS=5000000   a fixed number of executions instead of a time
# The whole library is rebuilt with clang into build/fuzz/ (FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
# lets npz.c accept a wrong CRC-32). New inputs go to build/fuzz/corpus-NAME, crashers to
# build/fuzz/NAME-crash-*. Copy the interesting ones into the committed corpus (tests/fuzz/
# corpus for npz, tests/fuzz/corpus-NAME for the others), which `make test` replays
# (tests/test_npz.c, tests/test_fuzz_corpora.c) so a fixed crash stays fixed where clang is absent.
FUZZ_TIME ?= 120
FUZZ_RUNS ?=
FUZZ_CC ?= clang
FUZZERS := npz matpower gridyaml config
FUZZ_CORPUS_npz := tests/fuzz/corpus
FUZZ_CORPUS_matpower := tests/fuzz/corpus-matpower
FUZZ_CORPUS_gridyaml := tests/fuzz/corpus-gridyaml
FUZZ_CORPUS_config := tests/fuzz/corpus-config
FUZZ_MAXLEN_npz := 65536
FUZZ_MAXLEN_matpower := 16384
FUZZ_MAXLEN_gridyaml := 8192
FUZZ_MAXLEN_config := 16384
FUZZ_CFLAGS := -std=c11 -Wall -Wextra -Werror -g -O1 -D_POSIX_C_SOURCE=200809L -Isrc -Itests $(PKG_CFLAGS) \
  -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION -fsanitize=address,undefined -fno-sanitize-recover=all \
  -fno-omit-frame-pointer
FUZZ_OBJ := $(LIB_SRC:%.c=build/fuzz/%.o)
FUZZ_LIB := build/fuzz/libstackelberg.a
.PHONY: fuzz $(FUZZERS:%=fuzz-%)

build/fuzz/src/%.o: src/%.c | pkgcheck
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_LIB): $(FUZZ_OBJ)
	@rm -f $@
	ar rcs $@ $^

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -MMD -MP -o $@ $< $(FUZZ_LIB) $(PKG_LIBS) -lm

fuzz: $(FUZZERS:%=fuzz-%)

$(FUZZERS:%=fuzz-%): fuzz-%: build/fuzz/fuzz_%
	@mkdir -p build/fuzz/corpus-$*
	OPENBLAS_NUM_THREADS=1 build/fuzz/fuzz_$* $(if $(FUZZ_RUNS),-runs=$(FUZZ_RUNS),-max_total_time=$(FUZZ_TIME)) \
	  -max_len=$(FUZZ_MAXLEN_$*) -rss_limit_mb=2048 -print_final_stats=1 \
	  $(if $(wildcard tests/fuzz/$*.dict),-dict=tests/fuzz/$*.dict) \
	  -artifact_prefix=build/fuzz/$*- build/fuzz/corpus-$* $(FUZZ_CORPUS_$*)
