# stackelberg: build, tests, sanitizers, benchmarks and the default run.
#
#   make            bin/stackelberg (or which Debian packages are missing)
#   make run        install missing Debian packages (as root), build, train on $(RUN_CONFIG) into
#                   $(RUN_OUT): continued if it holds this same run, else replaced
#   make test       install missing Debian packages (as root), build, run every test
#   make asan       the tests again under -fsanitize=address,undefined
#   make bench      throughput and solver timings (see bench/RESULTS.md)
#   make figures RUN=DIR   the paper's figures of a run directory (PNG, PDF, SVG) through gnuplot
#   make install [PREFIX=/usr/local] [DESTDIR=]   binary, library, headers, pkg-config file, data
#   make uninstall [PREFIX=...] [DESTDIR=]         remove what install put there
#   make clean
#
# Options: NATIVE=1 adds -march=native (machine-specific, off by default).

CC ?= cc
PKGS := openblas yaml-0.1 zlib
DEB_PKGS := gcc make pkg-config libopenblas-dev libyaml-dev zlib1g-dev libcriterion-dev \
            python3-numpy python3-cvxopt gnuplot-nox libopenmpi-dev openmpi-bin
RUN_CONFIG ?= configs/paper.yaml
RUN_OUT ?= runs/default
BUILD ?= build/release
SAN ?=

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
TEST_LIBS := $(shell pkg-config --libs criterion 2>/dev/null || echo -lcriterion)

OPT ?= -O2
CFLAGS := -std=c11 -Wall -Wextra -Werror $(OPT) -fno-math-errno -g -pthread -D_POSIX_C_SOURCE=200809L -Isrc $(PKG_CFLAGS)
ifeq ($(NATIVE),1)
CFLAGS += -march=native
endif
ifneq ($(SAN),)
CFLAGS += -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SAN)
endif
LDLIBS := $(PKG_LIBS) -lm -pthread
# OpenMPI is optional at build time: with Debian's libopenmpi-dev present (and MPI != 0) the
# binary can also run under mpirun (src/run/mpi.c); without it, a plain process.
MPI ?= 1
ifneq ($(MPI),0)
MPI_LIBS := $(shell pkg-config --libs ompi-c 2>/dev/null)
ifneq ($(MPI_LIBS),)
CFLAGS += -DSB_HAVE_MPI $(shell pkg-config --cflags ompi-c 2>/dev/null)
LDLIBS += $(MPI_LIBS)
endif
endif

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
# the sanitizer binary is not in bin/: its data directory (tools/, configs/) is named
TEST_ENV := SB_ASAN=1 ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
            UBSAN_OPTIONS=print_stacktrace=1 STACKELBERG_DATA=$(CURDIR)
endif

.PHONY: all run test asan bench bench-paper clean deps figures test-run bench-run install uninstall
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

# The whole 5-seed paper run, timed, the paper's findings checked, and every seed replayed
# from its records by tools/check_run.py (minutes; see bench/RESULTS.md).
bench-paper: deps
	@$(MAKE) --no-print-directory $(BIN)
	rm -rf runs/bench-paper
	OPENBLAS_NUM_THREADS=1 $(BIN) train configs/paper.yaml --out runs/bench-paper --quiet
	python3 tools/check_paper.py runs/bench-paper
	for d in runs/bench-paper/seed-*; do /usr/bin/python3 tools/check_run.py $$d > $$d/check_run.txt || { cat $$d/check_run.txt; exit 1; }; done
	@echo "tools/check_run.py: every seed replays (runs/bench-paper/seed-*/check_run.txt)"

run: deps
	@$(MAKE) --no-print-directory $(BIN)
	$(BIN) train $(RUN_CONFIG) --out $(RUN_OUT) --continue --force

figures:
	@test -n "$(RUN)" || { echo "usage: make figures RUN=DIR"; exit 2; }
	tools/figures.sh "$(RUN)"

clean:
	rm -rf build bin

# ---- install ----
# PREFIX/bin/stackelberg; PREFIX/lib/libstackelberg.a and lib/pkgconfig/stackelberg.pc;
# PREFIX/include/stackelberg/ with PUBLIC_HEADERS and every project header they include (found by
# the compiler, so the list stays closed when a header gains an include); PREFIX/share/stackelberg/
# with tools/figures.sh, configs/ and data/matpower/ (the data directory an installed binary reads:
# the configs name their grids relative to themselves, so share/stackelberg/configs/case14.yaml
# finds share/stackelberg/data/matpower/case14.m); PREFIX/share/doc/stackelberg/ with the README
# and docs/. DESTDIR stages the tree elsewhere (packaging); the files still name PREFIX.
# The library is a static archive: link with `pkg-config --cflags --libs --static stackelberg`
# (--static adds Requires.private and Libs.private: OpenBLAS, libyaml, zlib, libm).
PREFIX ?= /usr/local
PUBLIC_HEADERS := src/io/policy.h src/grid/dispatch.h src/grid/matpower.h src/game/game.h src/run/runner.h
VERSION := $(shell sed -n 's/^\#define SB_VERSION "\(.*\)"/\1/p' src/util/common.h)
INSTALL_BIN := $(DESTDIR)$(PREFIX)/bin
INSTALL_LIB := $(DESTDIR)$(PREFIX)/lib
INSTALL_INC := $(DESTDIR)$(PREFIX)/include/stackelberg
INSTALL_DATA := $(DESTDIR)$(PREFIX)/share/stackelberg
INSTALL_DOC := $(DESTDIR)$(PREFIX)/share/doc/stackelberg

# The .pc names PREFIX, so it is written by every install.
install: $(BIN) $(LIB)
	@test -z "$(SAN)" || { echo "make install: not with SAN (it installs the release build)"; exit 2; }
	@{ echo 'prefix=$(PREFIX)'; \
	   echo 'exec_prefix=$${prefix}'; \
	   echo 'libdir=$${exec_prefix}/lib'; \
	   echo 'includedir=$${prefix}/include'; \
	   echo 'datadir=$${prefix}/share/stackelberg'; \
	   echo; \
	   echo 'Name: stackelberg'; \
	   echo 'Description: Stackelberg Markov games: PPO, DC optimal power flow with LMPs, exported policies'; \
	   echo 'Version: $(VERSION)'; \
	   echo 'Requires.private: $(PKGS)'; \
	   echo 'Cflags: -I$${includedir}/stackelberg'; \
	   echo 'Libs: -L$${libdir} -lstackelberg'; \
	   echo 'Libs.private: $(filter-out $(PKG_LIBS),$(LDLIBS))'; } > $(BUILD)/stackelberg.pc
	install -d $(INSTALL_BIN) $(INSTALL_LIB)/pkgconfig $(INSTALL_INC) $(INSTALL_DATA)/tools $(INSTALL_DOC)/docs
	install -m 755 $(BIN) $(INSTALL_BIN)/stackelberg
	install -m 644 $(LIB) $(INSTALL_LIB)/libstackelberg.a
	install -m 644 $(BUILD)/stackelberg.pc $(INSTALL_LIB)/pkgconfig/stackelberg.pc
	@hdrs=$$($(CC) $(CFLAGS) -MM -MG -x c $(PUBLIC_HEADERS) | tr ' \\' '\n\n' | grep '^src/.*\.h$$' | sort -u); \
	test -n "$$hdrs" || { echo "make install: no headers found"; exit 1; }; \
	for h in $$hdrs; do \
	  d=$(INSTALL_INC)/$$(dirname $${h#src/}); \
	  install -d "$$d" && install -m 644 "$$h" "$$d/" || exit 1; \
	done; echo "installed $$(echo $$hdrs | wc -w) headers into $(INSTALL_INC)"
	install -m 755 tools/figures.sh $(INSTALL_DATA)/tools/figures.sh
	@for f in $$(find configs -name '*.yaml' | sort) $$(find data/matpower -type f | sort); do \
	  install -d "$(INSTALL_DATA)/$$(dirname $$f)" && install -m 644 "$$f" "$(INSTALL_DATA)/$$f" || exit 1; \
	done; echo "installed configs/ and data/matpower/ into $(INSTALL_DATA)"
	install -m 644 README.md $(INSTALL_DOC)/README.md
	install -m 644 docs/*.md $(INSTALL_DOC)/docs/

uninstall:
	rm -f $(INSTALL_BIN)/stackelberg $(INSTALL_LIB)/libstackelberg.a $(INSTALL_LIB)/pkgconfig/stackelberg.pc
	rm -rf $(INSTALL_INC) $(INSTALL_DATA) $(INSTALL_DOC)

-include $(shell find build -name '*.d' 2>/dev/null)

# Fuzzing with libFuzzer under ASan+UBSan (clang only; not part of `test`: CI has gcc).
#   make fuzz                 every fuzzer for FUZZ_TIME seconds each
#   make fuzz-NAME            one: npz (policy files), matpower, gridyaml, config (+ --set),
#                             tabular (tabular and mean-field game files; also make fuzz-games)
#   make fuzz-NAME FUZZ_RUNS=5000000   a fixed number of executions instead of a time
# The whole library is rebuilt with clang into build/fuzz/ (FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
# lets npz.c accept a wrong CRC-32). New inputs go to build/fuzz/corpus-NAME, crashers to
# build/fuzz/NAME-crash-*. Copy the interesting ones into the committed corpus (tests/fuzz/
# corpus for npz, tests/fuzz/corpus-NAME for the others), which `make test` replays
# (tests/test_npz.c, tests/test_fuzz_corpora.c) so a fixed crash stays fixed where clang is absent.
FUZZ_TIME ?= 120
FUZZ_RUNS ?=
FUZZ_CC ?= clang
FUZZERS := npz matpower gridyaml config tabular
FUZZ_CORPUS_npz := tests/fuzz/corpus
FUZZ_CORPUS_matpower := tests/fuzz/corpus-matpower
FUZZ_CORPUS_gridyaml := tests/fuzz/corpus-gridyaml
FUZZ_CORPUS_config := tests/fuzz/corpus-config
FUZZ_CORPUS_tabular := tests/fuzz/corpus_games
FUZZ_MAXLEN_npz := 65536
FUZZ_MAXLEN_matpower := 16384
FUZZ_MAXLEN_gridyaml := 8192
FUZZ_MAXLEN_config := 16384
FUZZ_MAXLEN_tabular := 16384
FUZZ_CFLAGS := -std=c11 -Wall -Wextra -Werror -g -O1 -D_POSIX_C_SOURCE=200809L -Isrc -Itests $(PKG_CFLAGS) \
  -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION -fsanitize=address,undefined -fno-sanitize-recover=all \
  -fno-omit-frame-pointer
FUZZ_OBJ := $(LIB_SRC:%.c=build/fuzz/%.o)
FUZZ_LIB := build/fuzz/libstackelberg.a
.PHONY: fuzz fuzz-games $(FUZZERS:%=fuzz-%)

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

# the game-file readers (tabular and mean-field YAML) under their older name
fuzz-games: fuzz-tabular
