# ezlb — see README.md. `make` builds ./ezlb, `make test` runs every test (unit, sanitizers,
# real kernel in a VM), `make demo` runs the demo, `make bench` the benchmark.
VERSION := 0.1.0
PREFIX ?= /usr/local
DESTDIR ?=

PKGS := libnl-3.0 libnl-genl-3.0 libnl-route-3.0 yaml-0.1 libsystemd openssl libmicrohttpd
# Evaluated lazily and once, after `deps` has had a chance to install the -dev packages.
PKG_CFLAGS = $(eval PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS)))$(PKG_CFLAGS)
PKG_LIBS = $(eval PKG_LIBS := $(shell pkg-config --libs $(PKGS)))$(PKG_LIBS)
CMOCKA_LIBS = $(eval CMOCKA_LIBS := $(shell pkg-config --libs cmocka))$(CMOCKA_LIBS)

CC ?= cc
# The builds inside the targets below use every core unless the caller chose with -j.
JOBS := $(if $(filter -j%,$(MAKEFLAGS)),,-j$(shell nproc 2>/dev/null || echo 1))
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
BASE_CFLAGS := -std=gnu11 $(WARN) -Iinclude -D_GNU_SOURCE -DEZLB_VERSION='"$(VERSION)"' -MMD -MP
OPT_CFLAGS ?= -O2 -g
ASAN_CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all

SRCS := $(shell find src -name '*.c' | sort)
LIB_SRCS := $(filter-out src/main.c,$(SRCS))
TEST_SRCS := $(shell find tests -name 'test_*.c' | sort)
FUZZ_SRCS := $(shell find tests/fuzz -name 'fuzz_*.c' | sort)

# $(call objs,VARIANT,SOURCES)
objs = $(patsubst %.c,build/$(1)/%.o,$(2))

.PHONY: all deps test-deps unit unit-asan asan fuzz fuzz-smoke vm-test vm-test-asan test demo bench install clean check-format

all: deps
	@$(MAKE) $(JOBS) --no-print-directory ezlb

deps:
	@deploy/deps.sh build

test-deps:
	@deploy/deps.sh test

ezlb: $(call objs,rel,$(SRCS))
	$(CC) $(OPT_CFLAGS) -o $@ $^ $(PKG_LIBS)

build/asan/ezlb: $(call objs,asan,$(SRCS))
	$(CC) $(ASAN_CFLAGS) -o $@ $^ $(PKG_LIBS)

build/rel/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(OPT_CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

build/asan/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(ASAN_CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

# Unit tests: tests/<dir>/test_x.c -> build/<variant>/tests/<dir>/test_x, linked with every module.
TESTS_REL := $(patsubst %.c,build/rel/%,$(TEST_SRCS))
TESTS_ASAN := $(patsubst %.c,build/asan/%,$(TEST_SRCS))

build/rel/tests/%: build/rel/tests/%.o $(call objs,rel,$(LIB_SRCS))
	$(CC) $(OPT_CFLAGS) -o $@ $^ $(PKG_LIBS) $(CMOCKA_LIBS)

build/asan/tests/%: build/asan/tests/%.o $(call objs,asan,$(LIB_SRCS))
	$(CC) $(ASAN_CFLAGS) -o $@ $^ $(PKG_LIBS) $(CMOCKA_LIBS)

.SECONDARY:

unit: test-deps
	@$(MAKE) $(JOBS) --no-print-directory $(TESTS_REL) ezlb
	@tests/run-unit.sh $(TESTS_REL)
	@tests/deploy/verify-unit.sh

unit-asan: test-deps
	@$(MAKE) $(JOBS) --no-print-directory $(TESTS_ASAN) build/asan/ezlb
	@tests/run-unit.sh $(TESTS_ASAN)

asan: deps
	@$(MAKE) $(JOBS) --no-print-directory build/asan/ezlb

vm-test: test-deps
	@$(MAKE) $(JOBS) --no-print-directory ezlb
	@tests/vm/run-suite.sh ./ezlb

vm-test-asan: test-deps
	@$(MAKE) $(JOBS) --no-print-directory build/asan/ezlb
	@tests/vm/run-suite.sh build/asan/ezlb

# libFuzzer harnesses (tests/fuzz/fuzz_x.c -> build/fuzz/fuzz_x), built with clang, ASan and UBSan.
FUZZ_CC := clang
# clang-only relaxations (gcc builds keep them): -Wno-bitwise-instead-of-logical, decode_options.c
# uses & on bools on purpose so every check runs; -Wno-sign-compare, clang flags NLMSG_OK itself.
FUZZ_CFLAGS := -O1 -g -fno-omit-frame-pointer -fno-sanitize-recover=all -Wno-bitwise-instead-of-logical -Wno-sign-compare
FUZZ_SECONDS ?= 300
FUZZ_SMOKE_SECONDS ?= 15
FUZZERS := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(FUZZ_SRCS))

build/fuzz/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(BASE_CFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined $(PKG_CFLAGS) -c -o $@ $<

build/fuzz/fuzz_%: build/fuzz/tests/fuzz/fuzz_%.o $(call objs,fuzz,$(LIB_SRCS))
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $^ $(PKG_LIBS)

fuzz: test-deps
	@$(MAKE) $(JOBS) --no-print-directory $(FUZZERS)
	@tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZERS)

fuzz-smoke: test-deps
	@$(MAKE) $(JOBS) --no-print-directory $(FUZZERS)
	@tests/fuzz/run.sh $(FUZZ_SMOKE_SECONDS) $(FUZZERS)

# Everything; any failure fails the target.
test: unit unit-asan fuzz-smoke vm-test vm-test-asan

demo: test-deps
	@$(MAKE) $(JOBS) --no-print-directory ezlb
	@tests/vm/demo.sh ./ezlb

bench: test-deps
	@$(MAKE) $(JOBS) --no-print-directory ezlb
	@tests/vm/bench.sh ./ezlb

install: all
	install -D -m 0755 ezlb $(DESTDIR)$(PREFIX)/sbin/ezlb
	install -D -m 0644 deploy/ezlb.service $(DESTDIR)/etc/systemd/system/ezlb.service
	install -D -m 0644 deploy/sysctl.d/50-ezlb.conf $(DESTDIR)/usr/lib/sysctl.d/50-ezlb.conf
	install -D -m 0644 deploy/modules-load.d/ezlb.conf $(DESTDIR)/usr/lib/modules-load.d/ezlb.conf
	@if [ ! -e $(DESTDIR)/etc/ezlb/ezlb.yaml ]; then install -D -m 0644 examples/ezlb.yaml $(DESTDIR)/etc/ezlb/ezlb.yaml; fi

clean:
	rm -rf build ezlb

-include $(shell find build -name '*.d' -type f 2>/dev/null)
