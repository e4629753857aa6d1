# vibn reconciler. `make` builds bin/vibnd, bin/vibnctl and bin/vibn-sim; `make test` runs every
# test against a private Postgres; `make SANITIZE=1 test` does it under ASan and UBSan.
# Sources are found by directory, so a new module needs no edit here:
#   common/ clients/ tenancy/ schema/ manifests/ reconcilers/ engine/ httpd/ api/
#   controller/ cli/                                    -> build/.../libvibn.a
#   controller/vibnd.c, cli/vibnctl.c, tests/sim/*.c    -> the three binaries
#   tests/support/vibnd_test.c                          -> vibnd-test (vibnd + test reconcilers)
#   tests/unit/test_*.c, tests/integration/test_*.c     -> one cmocka program each
#   tests/fuzz/fuzz_*.c                                 -> libFuzzer targets (make fuzz)

SHELL := /bin/bash
.DEFAULT_GOAL := all

# What the build needs, and what the tests, benchmarks and the demo need besides;
# scripts/deps.sh installs what is missing. Goals that only read or tidy the tree (clean,
# fmt, ...) need neither, so they work on a machine without the test toolchain.
PKGS := libevent libevent_pthreads libpq libcurl jansson yaml-0.1 libcrypto
TEST_PKGS := cmocka

NO_DEPS_GOALS := clean fmt fmt-check lint deps
TEST_GOALS := test check tests bench fuzz fuzz-build valgrind demo up soak mutation
GOALS := $(or $(MAKECMDGOALS),all)
ifneq ($(filter $(TEST_GOALS),$(GOALS)),)
DEPS_SET := test
else ifneq ($(filter-out $(NO_DEPS_GOALS),$(GOALS)),)
DEPS_SET := build
endif
ifeq ($(DEPS_CHECKED),)
ifneq ($(DEPS_SET),)
DEPS_MISSING := $(shell scripts/deps.sh --check $(DEPS_SET) >/dev/null 2>&1 || echo yes)
endif
endif

ifeq ($(DEPS_MISSING),yes)
# Install first, then run the same goals again with the dependencies in place (once: the
# second make does not check again, so a failed install cannot loop).
.PHONY: $(GOALS)
$(GOALS):
	@scripts/deps.sh $(DEPS_SET)
	@$(MAKE) --no-print-directory DEPS_CHECKED=1 $@
else

ifeq ($(FUZZ),1)
CC := clang
BUILD := build/fuzz
BIN := $(BUILD)/bin
MODE_CFLAGS := -O1 -g -fsanitize=address,undefined,fuzzer-no-link -fno-omit-frame-pointer
MODE_LDFLAGS := -fsanitize=address,undefined
else ifeq ($(SANITIZE),1)
BUILD := build/asan
BIN := $(BUILD)/bin
MODE_CFLAGS := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
MODE_LDFLAGS := -fsanitize=address,undefined
else
BUILD := build/release
BIN := bin
MODE_CFLAGS := -O2 -g
MODE_LDFLAGS :=
endif

CC ?= cc
# Quiet by default; `make V=1` shows the commands.
ifeq ($(V),1)
Q :=
else
Q := @
endif
WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wmissing-declarations \
	-Wformat=2 -Wpointer-arith -Wcast-qual -Wwrite-strings -Wundef -Wno-unused-parameter
ifneq ($(CI),)
WARN += -Werror
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm
TEST_CFLAGS := $(shell pkg-config --cflags $(TEST_PKGS) 2>/dev/null)
TEST_LIBS := $(shell pkg-config --libs $(TEST_PKGS) 2>/dev/null)

VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
CPPFLAGS += -I. -D_GNU_SOURCE -DVIBN_VERSION='"$(VERSION)"'
ALL_CFLAGS := -std=c11 $(WARN) $(MODE_CFLAGS) $(PKG_CFLAGS) $(CFLAGS) -MMD -MP
ALL_LDFLAGS := $(MODE_LDFLAGS) $(LDFLAGS)

MAINS := controller/vibnd.c cli/vibnctl.c
LIB_DIRS := common clients tenancy schema manifests reconcilers engine httpd api controller cli
LIB_SRCS := $(filter-out $(MAINS),$(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.c)))
MIGRATIONS := $(sort $(wildcard schema/migrations/*.sql))
GEN_MIGRATIONS := $(BUILD)/gen/migrations.c
# The settings page (HTML, CSS, JavaScript), compiled into the binaries like the migrations.
UI_FILES := $(sort $(wildcard ui/*))
GEN_UI := $(BUILD)/gen/ui_assets.c
SIM_SRCS := $(wildcard tests/sim/*.c)
TEST_DAEMON_SRC := tests/support/vibnd_test.c
SUPPORT_SRCS := $(filter-out $(TEST_DAEMON_SRC),$(wildcard tests/support/*.c))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
ITEST_SRCS := $(wildcard tests/integration/test_*.c)
BENCH_SRCS := $(wildcard tests/bench/*.c)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
LIB := $(BUILD)/libvibn.a
LIB_OBJS := $(call obj,$(LIB_SRCS)) $(BUILD)/obj/gen/migrations.o $(BUILD)/obj/gen/ui_assets.o
SUPPORT_LIB := $(BUILD)/libvibntest.a
SUPPORT_OBJS := $(call obj,$(SUPPORT_SRCS))
PROGS := $(BIN)/vibnd $(BIN)/vibnctl $(if $(SIM_SRCS),$(BIN)/vibn-sim)
TEST_DAEMON := $(BUILD)/tests/vibnd-test
TEST_PROGS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(UNIT_SRCS) $(ITEST_SRCS)) $(TEST_DAEMON)
BENCH_PROGS := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))
FUZZ_PROGS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))

.PHONY: all tests test check bench fuzz fuzz-build fmt fmt-check lint valgrind demo up soak mutation \
	clean deps FORCE
.SECONDARY:
all: $(PROGS)
tests: $(PROGS) $(TEST_PROGS) $(BENCH_PROGS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	@echo '  CC      $<'
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c $< -o $@

# The set of migrations, rewritten only when it changes: removing or renaming a file then
# regenerates the table too (a deleted prerequisite alone would not).
MIGRATION_LIST := $(BUILD)/gen/migrations.list
$(MIGRATION_LIST): FORCE
	@mkdir -p $(@D)
	@echo '$(MIGRATIONS)' | cmp -s - $@ || echo '$(MIGRATIONS)' > $@

$(GEN_MIGRATIONS): $(MIGRATIONS) $(MIGRATION_LIST) scripts/embed-migrations.sh
	@mkdir -p $(@D)
	$(Q)scripts/embed-migrations.sh $@ $(MIGRATIONS)

$(BUILD)/obj/gen/migrations.o: $(GEN_MIGRATIONS)
	@mkdir -p $(@D)
	@echo '  CC      $<'
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c $< -o $@

UI_LIST := $(BUILD)/gen/ui_assets.list
$(UI_LIST): FORCE
	@mkdir -p $(@D)
	@echo '$(UI_FILES)' | cmp -s - $@ || echo '$(UI_FILES)' > $@

$(GEN_UI): $(UI_FILES) $(UI_LIST) scripts/embed-ui.sh
	@mkdir -p $(@D)
	$(Q)scripts/embed-ui.sh $@ $(UI_FILES)

$(BUILD)/obj/gen/ui_assets.o: $(GEN_UI)
	@mkdir -p $(@D)
	@echo '  CC      $<'
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@rm -f $@
	$(Q)$(AR) rcs $@ $^

$(SUPPORT_LIB): $(SUPPORT_OBJS)
	@rm -f $@
	$(Q)$(AR) rcs $@ $^ $(if $(SUPPORT_OBJS),,$(BUILD)/obj/gen/migrations.o)

$(BIN)/vibnd: $(call obj,controller/vibnd.c) $(LIB)
	@mkdir -p $(@D)
	@echo '  LD      $@'
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BIN)/vibnctl: $(call obj,cli/vibnctl.c) $(LIB)
	@mkdir -p $(@D)
	@echo '  LD      $@'
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BIN)/vibn-sim: $(call obj,$(SIM_SRCS)) $(LIB)
	@mkdir -p $(@D)
	@echo '  LD      $@'
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# The shipped daemon plus the test reconcilers: never installed, only run by the tests.
$(TEST_DAEMON): $(call obj,$(TEST_DAEMON_SRC)) $(SUPPORT_LIB) $(LIB)
	@mkdir -p $(@D)
	@echo '  LD      $@'
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(SUPPORT_LIB) $(LIB)
	@mkdir -p $(@D)
	@echo '  LD      $@'
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(TEST_LIBS) $(PKG_LIBS)

$(BUILD)/obj/tests/%.o: tests/%.c
	@mkdir -p $(@D)
	@echo '  CC      $<'
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(TEST_CFLAGS) -c $< -o $@

$(BUILD)/bench/%: $(BUILD)/obj/tests/bench/%.o $(SUPPORT_LIB) $(LIB)
	@mkdir -p $(@D)
	@echo '  LD      $@'
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/fuzz/%: $(BUILD)/obj/tests/fuzz/%.o $(LIB)
	@mkdir -p $(@D)
	@echo '  LD      $@'
	$(Q)$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS)

# The whole suite: unit, integration (C and Python) and fuzz-corpus replays, against a
# private Postgres that tests/run.sh starts and always removes.
test check: tests
	@VIBN_BUILD=$(BUILD) VIBN_BIN=$(BIN) tests/run.sh

bench: tests
	@VIBN_BUILD=$(BUILD) VIBN_BIN=$(BIN) tests/bench/run.sh

fuzz-build: $(FUZZ_PROGS)
fuzz:
	@$(MAKE) --no-print-directory FUZZ=1 fuzz-build
	@tests/fuzz/run.sh build/fuzz/fuzz $${FUZZ_SECONDS:-60}

# Each settings repair disabled in turn must make a reconciler test fail.
mutation:
	@tests/mutation/run.sh

demo up soak: all
	@VIBN_BIN=$(BIN) scripts/$@.sh

valgrind: tests
	@VIBN_BUILD=$(BUILD) VIBN_BIN=$(BIN) VIBN_VALGRIND=1 tests/run.sh

FMT_SRCS = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
fmt:
	clang-format -i $(FMT_SRCS)
fmt-check:
	clang-format --dry-run --Werror $(FMT_SRCS)

lint:
	@scripts/check-layers.sh
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability --inline-suppr \
		--suppress=missingIncludeSystem -I. -D_GNU_SOURCE $(LIB_SRCS) $(MAINS)

clean:
	rm -rf build bin

-include $(shell find build -name '*.d' 2>/dev/null)
endif

deps:
	@scripts/deps.sh test
