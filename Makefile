# SPDX-License-Identifier: GPL-3.0-or-later
# meshvpn - a VpnCloud 2.x compatible mesh VPN node.
#
#   make              build ./meshvpn and ./meshvpn-wsproxy
#   make check        install missing Debian build deps, build, run every test
#   make demo         three nodes in network namespaces (see README.md)
#   make unit asan asan-node fuzz fuzz-run fuzz-long integration soak install clean deps
#   make deb          build/meshvpn_VERSION_ARCH.deb (built out of tree in build/deb)
#
# Overridable: PREFIX DESTDIR BINDIR SBINDIR DATADIR MANDIR SYSCONFDIR SYSTEMDUNITDIR CC CLANG V=1
#   FUZZ_TIME (fuzz-run, s per target), FUZZ_LONG_TIME FUZZ_TARGETS (fuzz-long)

PKG_CONFIG ?= pkg-config
CC ?= cc
CLANG ?= clang

PREFIX ?= /usr/local
DESTDIR ?=
SBINDIR ?= $(PREFIX)/sbin
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
SYSCONFDIR ?= /etc
SYSTEMDUNITDIR ?= $(shell $(PKG_CONFIG) --variable=systemdsystemunitdir systemd 2>/dev/null || echo /lib/systemd/system)

BUILD ?= build
BIN := $(if $(filter build,$(BUILD)),meshvpn,$(BUILD)/meshvpn)
WSPROXY_BIN := $(if $(filter build,$(BUILD)),meshvpn-wsproxy,$(BUILD)/meshvpn-wsproxy)

PKGS := libsodium libcrypto libssl miniupnpc yaml-0.1 jansson libmicrohttpd
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
# libmicrohttpd: its header only; metrics.c loads the library when /metrics is served
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(filter-out libmicrohttpd,$(PKGS)) 2>/dev/null)
# Debian's libwslay-dev ships no .pc file.
WSLAY_LIBS := $(shell $(PKG_CONFIG) --libs libwslay 2>/dev/null || echo -lwslay)
CMOCKA_CFLAGS := $(shell $(PKG_CONFIG) --cflags cmocka 2>/dev/null)
CMOCKA_LIBS := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null || echo -lcmocka)

OPT ?= -O2 -g
WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla -Wno-missing-field-initializers
BASE_CFLAGS := -std=gnu11 -D_GNU_SOURCE $(WARN) -Iinclude $(PKG_CFLAGS) -MMD -MP
ifeq ($(SAN),1)
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
BASE_CFLAGS += -O1 -g $(SAN_FLAGS)
LDFLAGS_EXTRA := $(SAN_FLAGS)
else
BASE_CFLAGS += $(OPT) -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
LDFLAGS_EXTRA := -pie -Wl,-z,relro,-z,now
endif
ALL_CFLAGS := $(BASE_CFLAGS) $(CFLAGS)
LIBS := $(PKG_LIBS) $(WSLAY_LIBS) -lpthread

BEACON_SCRIPTS := $(wildcard beacon/*.sh)
SRCS := $(wildcard src/*.c)
LIB_SRCS := $(filter-out src/main.c,$(SRCS))
OBJ := $(BUILD)/obj
LIB_OBJS := $(LIB_SRCS:src/%.c=$(OBJ)/%.o)
LIBA := $(BUILD)/libmeshvpn.a
# wsproxy/: the proxy server, linked into ./meshvpn (ws-proxy) and ./meshvpn-wsproxy
WSP_SRCS := $(filter-out wsproxy/main.c,$(wildcard wsproxy/*.c))
WSP_OBJS := $(WSP_SRCS:wsproxy/%.c=$(OBJ)/wsproxy/%.o)
# the same as an archive, for unit tests of the proxy's modules (test_wsproxy_*.c)
WSPA := $(BUILD)/libwsproxy.a
# test tools linked with the project's modules (the plain ones are built by their scripts)
TOOLS := $(BUILD)/tools/wsdrive $(BUILD)/tools/mgmtabuse $(BUILD)/tools/promparse \
	$(BUILD)/tools/peersim $(BUILD)/tools/forge

TEST_SRCS := $(wildcard tests/unit/test_*.c)
TESTS := $(TEST_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZERS := $(FUZZ_SRCS:tests/fuzz/%.c=build/fuzz/%)
FUZZ_OBJS := $(LIB_SRCS:src/%.c=build/fuzz/obj/%.o)
FUZZ_TIME ?= 10
FUZZ_LONG_TIME ?= 600
# fuzz-long runs these (default all), e.g. FUZZ_TARGETS="fuzz_frame fuzz_handshake"
FUZZ_TARGETS ?= $(notdir $(FUZZERS))
INTEGRATION ?= $(sort $(filter-out tests/integration/lib.sh,$(wildcard tests/integration/*.sh)))

ifeq ($(V),1)
Q :=
say :=
else
Q := @
say = @printf '  %-6s %s\n' $(1) $(2);
endif

.PHONY: all check deps unit asan asan-node fuzz fuzz-run fuzz-long integration soak install \
	uninstall clean demo deb tools promtool
.DELETE_ON_ERROR:
.SECONDARY:

all: $(BIN) $(WSPROXY_BIN)

$(OBJ)/%.o: src/%.c
	@mkdir -p $(@D)
	$(call say,CC,$<)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(OBJ)/main.o: ALL_CFLAGS += -Iwsproxy

$(OBJ)/wsproxy/%.o: wsproxy/%.c
	@mkdir -p $(@D)
	$(call say,CC,$<)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBA): $(LIB_OBJS)
	$(call say,AR,$@)rm -f $@ && $(AR) rcs $@ $^

$(WSPA): $(WSP_OBJS)
	$(call say,AR,$@)rm -f $@ && $(AR) rcs $@ $^

$(BIN): $(OBJ)/main.o $(WSP_OBJS) $(LIBA)
	$(call say,LD,$@)$(CC) $(LDFLAGS_EXTRA) $(LDFLAGS) -o $@ $^ $(LIBS)

$(WSPROXY_BIN): $(OBJ)/wsproxy/main.o $(WSP_OBJS) $(LIBA)
	$(call say,LD,$@)$(CC) $(LDFLAGS_EXTRA) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tools/%: tests/tools/%.c $(LIBA)
	@mkdir -p $(@D)
	$(call say,CC,$@)$(CC) $(ALL_CFLAGS) -Itests/tools -o $@ $< $(LIBA) $(LIBS)

tools: $(TOOLS)

$(BUILD)/tests/%.o: tests/unit/%.c
	@mkdir -p $(@D)
	$(call say,CC,$<)$(CC) $(ALL_CFLAGS) $(CMOCKA_CFLAGS) -Itests/unit -Iwsproxy -c -o $@ $<

# A test may list extra link flags (e.g. -Wl,--wrap=randombytes_buf) in test_X.ldflags. The
# proxy's archive comes first: only the tests that call into it take anything from it.
$(BUILD)/tests/%: $(BUILD)/tests/%.o $(WSPA) $(LIBA)
	$(call say,LD,$@)$(CC) $(LDFLAGS_EXTRA) $(LDFLAGS) -o $@ $< $(WSPA) $(LIBA) \
		$(shell cat tests/unit/$*.ldflags 2>/dev/null) $(CMOCKA_LIBS) $(LIBS)

unit: $(TESTS)
	@fail=0; for t in $(TESTS); do \
		echo "== $$t"; \
		PATH="$(abspath $(PROMTOOL_DIR)):$$PATH" CMOCKA_MESSAGE_OUTPUT=TAP $$t || \
			{ echo "FAILED: $$t"; fail=1; }; \
	done; exit $$fail

asan:
	$(MAKE) BUILD=build/asan SAN=1 unit

# The node under AddressSanitizer, LeakSanitizer and UBSan (build/asan/meshvpn), for the soak.
asan-node:
	$(MAKE) BUILD=build/asan SAN=1 build/asan/meshvpn

build/fuzz/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(call say,CLANG,$<)$(CLANG) -std=gnu11 -D_GNU_SOURCE $(WARN) -Iinclude $(PKG_CFLAGS) -g -O1 \
		-fsanitize=fuzzer-no-link,address,undefined -DMESHVPN_FUZZ -MMD -MP -c -o $@ $<

build/fuzz/%: tests/fuzz/%.c $(FUZZ_OBJS)
	@mkdir -p $(@D)
	$(call say,CLANG,$@)$(CLANG) -std=gnu11 -D_GNU_SOURCE $(WARN) -Iinclude $(PKG_CFLAGS) -g -O1 \
		-fsanitize=fuzzer,address,undefined -DMESHVPN_FUZZ -o $@ $< $(FUZZ_OBJS) $(LIBS)

fuzz: $(FUZZERS)

# Runs every fuzz target for FUZZ_TIME seconds, seeded from tests/fuzz/corpus/<name>/.
fuzz-run: $(FUZZERS)
	@for f in $(FUZZERS); do \
		n=$$(basename $$f); mkdir -p build/fuzz/work-$$n tests/fuzz/corpus/$$n; \
		echo "== $$n ($(FUZZ_TIME) s)"; \
		$$f -max_total_time=$(FUZZ_TIME) -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
			build/fuzz/work-$$n tests/fuzz/corpus/$$n 2>build/fuzz/$$n.log \
			|| { tail -n 60 build/fuzz/$$n.log; exit 1; }; \
		grep -E '^stat::number_of_executed_units' build/fuzz/$$n.log || true; \
	done

# Runs each of FUZZ_TARGETS for FUZZ_LONG_TIME seconds at nice 19, one after the other (the
# machine is shared). The grown corpus stays in build/fuzz/long/<name>/ and seeds the next run
# together with tests/fuzz/corpus/<name>/; a finding goes to build/fuzz/findings/<name>/ and
# the remaining targets still run. build/fuzz/long-summary.txt gets seconds and executions.
fuzz-long: $(FUZZERS)
	@fail=0; for n in $(FUZZ_TARGETS); do \
		f=build/fuzz/$$n; mkdir -p build/fuzz/long/$$n build/fuzz/findings/$$n; \
		echo "== $$n ($(FUZZ_LONG_TIME) s)"; t0=$$(date +%s); \
		nice -n 19 $$f -max_total_time=$(FUZZ_LONG_TIME) -timeout=10 -rss_limit_mb=2048 \
			-print_final_stats=1 -artifact_prefix=build/fuzz/findings/$$n/ \
			build/fuzz/long/$$n tests/fuzz/corpus/$$n 2>build/fuzz/long-$$n.log; rc=$$?; \
		ex=$$(sed -n 's/^stat::number_of_executed_units: *//p' build/fuzz/long-$$n.log); \
		echo "$$n seconds=$$(( $$(date +%s) - t0 )) execs=$${ex:-?} rc=$$rc" \
			| tee -a build/fuzz/long-summary.txt; \
		if [ $$rc -ne 0 ]; then fail=1; grep -E '^(==[0-9]+==ERROR|SUMMARY|.*artifact)' \
			build/fuzz/long-$$n.log; fi; \
	done; exit $$fail

# Integration tests need root, ip netns and /dev/net/tun; each exits 77 to skip.
integration: $(BIN) $(WSPROXY_BIN) $(TOOLS)
	@fail=0; for t in $(INTEGRATION); do \
		echo "== $$t"; \
		PATH="$(abspath $(PROMTOOL_DIR)):$$PATH" \
		MESHVPN=$(abspath $(BIN)) MESHVPN_WSPROXY=$(abspath $(WSPROXY_BIN)) \
		MESHVPN_TOOLS=$(abspath $(BUILD)/tools) timeout -k 10 300 sh $$t; rc=$$?; \
		case $$rc in 0) echo "PASS: $$t";; 77) echo "SKIP: $$t";; \
		*) echo "FAIL: $$t (exit $$rc)"; fail=1;; esac; \
	done; exit $$fail

# The churn soak (tests/soak/churn.sh, needs root): six ASan nodes under iperf3 load, one
# stopped and restarted every few seconds for SOAK_TIME seconds (make soak SOAK_TIME=3600).
# The logs of the last run are kept in build/soak/.
SOAK_TIME ?= 120
soak: asan-node
	@rm -rf build/soak; echo "== tests/soak/churn.sh ($(SOAK_TIME) s)"; \
	MESHVPN=$(abspath build/asan/meshvpn) SOAK_TIME=$(SOAK_TIME) SOAK_LOGS=$(abspath build/soak) \
		timeout -k 10 $$(($(SOAK_TIME) + 300)) sh tests/soak/churn.sh; rc=$$?; \
	case $$rc in 0) echo "PASS: tests/soak/churn.sh";; 77) echo "SKIP: tests/soak/churn.sh";; \
	*) echo "FAIL: tests/soak/churn.sh (exit $$rc; logs in build/soak)"; exit 1;; esac

# Three nodes in network namespaces, pings and iperf3 across the mesh (needs root).
demo: deps
	$(MAKE) all
	MESHVPN=$(abspath $(BIN)) sh tests/demo/demo.sh

check: deps
	$(MAKE) promtool
	$(MAKE) all
	$(MAKE) unit
	$(MAKE) asan
	$(MAKE) fuzz-run
	$(MAKE) integration
	$(MAKE) soak

# promtool checks /metrics in the tests. It comes in Debian's package prometheus, the server:
# installing that package installs and starts prometheus.service on the machine. So only
# promtool (a static binary) is taken out of the downloaded .deb, no maintainer script runs
# and nothing is installed; offline, the tests check /metrics with their strict parser only.
PROMTOOL_DIR := build/promtool
promtool:
	@mkdir -p $(PROMTOOL_DIR)/dl; \
	if [ -x $(PROMTOOL_DIR)/promtool ] || command -v promtool >/dev/null; then :; \
	elif (cd $(PROMTOOL_DIR)/dl && apt-get download -q prometheus >/dev/null 2>&1) && \
	    dpkg-deb --fsys-tarfile $(PROMTOOL_DIR)/dl/prometheus_*.deb | \
	    tar -xO ./usr/bin/promtool >$(PROMTOOL_DIR)/promtool.tmp 2>/dev/null && \
	    chmod 755 $(PROMTOOL_DIR)/promtool.tmp && $(PROMTOOL_DIR)/promtool.tmp --version >/dev/null; then \
		mv $(PROMTOOL_DIR)/promtool.tmp $(PROMTOOL_DIR)/promtool; \
		echo "promtool taken from Debian's prometheus package into $(PROMTOOL_DIR)"; \
	else \
		rm -f $(PROMTOOL_DIR)/promtool.tmp; \
		echo "promtool not available (apt-get download prometheus failed): /metrics is checked by the strict parser only"; \
	fi; rm -rf $(PROMTOOL_DIR)/dl

# Debian packages needed to build and test; installed with apt-get when missing.
# tests/integration/upnp.sh runs a real IGD: miniupnpd-nftables is the bare daemon (no
# maintainer scripts, so nothing starts on the host; the "miniupnpd" package adds an init
# script, debconf questions and uuidd), nftables its firewall, miniupnpc the upnpc client.
# openssl (the command) makes the throwaway CA of tests/integration/wsproxy_tls.sh.
# libmicrohttpd serves --metrics-listen. Prometheus' promtool: see the promtool target.
DEB_DEPS := gcc make pkg-config libc6-dev libsodium-dev libssl-dev libminiupnpc-dev \
	libwslay-dev libyaml-dev libjansson-dev libmicrohttpd-dev libcmocka-dev clang \
	libclang-rt-14-dev \
	iproute2 iputils-ping iperf3 procps ethtool openssl \
	miniupnpd-nftables nftables miniupnpc \
	debhelper dpkg-dev fakeroot lintian groff-base mandoc systemd
deps:
	@missing=""; for p in $(DEB_DEPS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' \
			|| missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		if [ "$$(id -u)" != 0 ]; then echo "run as root (or install:$$missing)"; exit 1; fi; \
		DEBIAN_FRONTEND=noninteractive apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

# The configuration directory holds secrets: 0700, the example 0600 (as VpnCloud's package).
install: $(BIN) $(WSPROXY_BIN)
	install -D -m 0755 $(BIN) $(DESTDIR)$(SBINDIR)/meshvpn
	install -D -m 0755 $(WSPROXY_BIN) $(DESTDIR)$(SBINDIR)/meshvpn-wsproxy
	install -D -m 0644 man/meshvpn.8 $(DESTDIR)$(MANDIR)/man8/meshvpn.8
	install -D -m 0644 man/meshvpn-wsproxy.8 $(DESTDIR)$(MANDIR)/man8/meshvpn-wsproxy.8
	install -D -m 0644 man/meshvpn.net.5 $(DESTDIR)$(MANDIR)/man5/meshvpn.net.5
	install -d -m 0755 $(DESTDIR)$(DATADIR)/meshvpn/beacon
	install -m 0755 $(BEACON_SCRIPTS) $(DESTDIR)$(DATADIR)/meshvpn/beacon/
	install -m 0644 beacon/README.md $(DESTDIR)$(DATADIR)/meshvpn/beacon/README.md
	install -d -m 0755 $(DESTDIR)$(SYSTEMDUNITDIR)
	sed 's|/usr/sbin/meshvpn|$(SBINDIR)/meshvpn|' packaging/systemd/meshvpn@.service \
		>$(DESTDIR)$(SYSTEMDUNITDIR)/meshvpn@.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/meshvpn@.service
	sed 's|/usr/sbin/meshvpn-wsproxy|$(SBINDIR)/meshvpn-wsproxy|' \
		packaging/systemd/meshvpn-wsproxy.service \
		>$(DESTDIR)$(SYSTEMDUNITDIR)/meshvpn-wsproxy.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/meshvpn-wsproxy.service
	install -m 0644 packaging/systemd/meshvpn.target $(DESTDIR)$(SYSTEMDUNITDIR)/meshvpn.target
	install -d -m 0700 $(DESTDIR)$(SYSCONFDIR)/meshvpn
	install -m 0600 conf/example.net $(DESTDIR)$(SYSCONFDIR)/meshvpn/example.net.disabled

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/meshvpn $(DESTDIR)$(MANDIR)/man8/meshvpn.8 \
		$(DESTDIR)$(SBINDIR)/meshvpn-wsproxy $(DESTDIR)$(MANDIR)/man8/meshvpn-wsproxy.8 \
		$(DESTDIR)$(SYSTEMDUNITDIR)/meshvpn-wsproxy.service \
		$(DESTDIR)$(MANDIR)/man5/meshvpn.net.5 $(DESTDIR)$(SYSTEMDUNITDIR)/meshvpn@.service \
		$(DESTDIR)$(SYSTEMDUNITDIR)/meshvpn.target \
		$(DESTDIR)$(SYSCONFDIR)/meshvpn/example.net.disabled
	rm -rf $(DESTDIR)$(DATADIR)/meshvpn/beacon
	-rmdir $(DESTDIR)$(DATADIR)/meshvpn 2>/dev/null

# The Debian package, built from a copy of the sources so the checkout stays clean.
DEB_ARCH = $(shell dpkg --print-architecture)
deb:
	rm -rf build/deb && mkdir -p build/deb/meshvpn
	tar -cf - --exclude=./build --exclude=./.git --exclude=./meshvpn --exclude=./meshvpn-wsproxy . \
		| tar -xf - -C build/deb/meshvpn
	cp -r packaging/debian build/deb/meshvpn/debian
	cd build/deb/meshvpn && dpkg-buildpackage -us -uc -b
	cp build/deb/meshvpn_*_$(DEB_ARCH).deb build/
	@ls -1 build/meshvpn_*_$(DEB_ARCH).deb

clean:
	rm -rf build meshvpn meshvpn-wsproxy

-include $(LIB_OBJS:.o=.d) $(OBJ)/main.d $(WSP_OBJS:.o=.d) $(OBJ)/wsproxy/main.d $(TESTS:=.d) \
	$(FUZZ_OBJS:.o=.d) $(TOOLS:=.d)
