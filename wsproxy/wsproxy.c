// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * wsproxy.c - the WebSocket <-> UDP proxy server: options, the listening socket, limits,
 * the epoll loop (src/loop.c), the TLS certificate and its reload, counters and shutdown.
 * Connections live in conn.c, the OpenSSL calls in tls.c.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "meshvpn/log.h"
#include "meshvpn/websocket.h"
#include "wsproxy.h"
#include "wsproxy_int.h"

#define EXIT_USAGE	  2
#define ACCEPTS_PER_EVENT 64
#define ACCEPT_PAUSE_MS	  1000

_Static_assert(ADDR_WIRE_LEN == 18 && WSP_DEFAULT_MAX_MSG == 65553, "the help text's numbers");

enum {
	OPT_PUBLIC_IP = 256,
	OPT_PROXY_PROTOCOL,
	OPT_MAX_CONNS,
	OPT_PER_SOURCE,
	OPT_IDLE,
	OPT_MAX_MSG,
	OPT_LOG_FILE,
	OPT_TLS_CERT,
	OPT_TLS_KEY,
	OPT_VERSION,
};

static const struct option long_opts[] = {
    {"listen", required_argument, NULL, 'l'},
    {"public-ip", required_argument, NULL, OPT_PUBLIC_IP},
    {"proxy-protocol", no_argument, NULL, OPT_PROXY_PROTOCOL},
    {"max-connections", required_argument, NULL, OPT_MAX_CONNS},
    {"max-per-source", required_argument, NULL, OPT_PER_SOURCE},
    {"idle-timeout", required_argument, NULL, OPT_IDLE},
    {"max-message", required_argument, NULL, OPT_MAX_MSG},
    {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
    {"tls-key", required_argument, NULL, OPT_TLS_KEY},
    {"log-file", required_argument, NULL, OPT_LOG_FILE},
    {"verbose", no_argument, NULL, 'v'},
    {"quiet", no_argument, NULL, 'q'},
    {"version", no_argument, NULL, OPT_VERSION},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};
static const char short_opts[] = "+:l:vqh";

static const char *const help_text[] = {
    "Usage: meshvpn ws-proxy [OPTIONS]   (or: meshvpn-wsproxy [OPTIONS])",
    "WebSocket proxy for meshvpn and VpnCloud nodes (listen = ws://HOST:PORT, or",
    "wss://HOST:PORT/PATH with --tls-cert): every client gets a UDP socket of its own",
    "and the proxy relays its datagrams.",
    "",
    "  -l, --listen ADDR          PORT, IP, IP:PORT or [IPv6]:PORT (default 3210;",
    "                             an IP without port listens on 8080)",
    "      --public-ip IP         address announced to clients (default: the host's",
    "                             primary address, as VpnCloud)",
    "      --proxy-protocol       require a PROXY protocol v2 header (load balancer)",
    "      --max-connections N    connections at the same time (default 1024)",
    "      --max-per-source N     connections per IPv4 address or IPv6 /64 (default 16)",
    "      --idle-timeout SECS    close clients silent for SECS, 0 = never (default 180)",
    "      --max-message BYTES    longest message from a client (default 65553)",
    "      --tls-cert FILE        speak TLS (wss://) with this PEM certificate (chain)",
    "      --tls-key FILE         and this PEM private key (both or neither)",
    "      --log-file FILE        also log to FILE",
    "  -v, --verbose              debug output",
    "  -q, --quiet                errors only",
    "  -h, --help                 this text",
    "      --version              print the version",
    "",
    "SIGHUP reloads the certificate and key for new connections, SIGUSR1 logs the",
    "counters, SIGTERM or SIGINT stops the proxy.",
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- options ---- */

static int PRINTF(2, 3) usage_error(const char *prog, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help' for more information.\n", prog);
	return -EINVAL;
}

static bool parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* Fills o, level and log_file from argv. 0, 1 (--help/--version printed) or -EINVAL. */
static int parse_opts(int argc, char **argv, struct wsp_opts *o, enum log_level *level,
		      const char **log_file)
{
	const char *base = argc > 0 && argv[0] ? strrchr(argv[0], '/') : NULL;
	const char *prog = base ? base + 1 : argc > 0 && argv[0] ? argv[0] : "ws-proxy";
	unsigned long v;
	bool verbose = false, quiet = false;
	int c;

	/* as a subcommand argv[0] is "ws-proxy" or "wsproxy" */
	if (strcmp(prog, "ws-proxy") == 0 || strcmp(prog, "wsproxy") == 0)
		prog = "meshvpn ws-proxy";
	memset(o, 0, sizeof(*o));
	o->listen.port = WSP_DEFAULT_PORT; /* [::]:3210 */
	o->max_conns = WSP_DEFAULT_MAX_CONNS;
	o->max_per_source = WSP_DEFAULT_PER_SOURCE;
	o->idle_timeout = WSP_DEFAULT_IDLE;
	o->max_msg = WSP_DEFAULT_MAX_MSG;
	*log_file = NULL;

	optind = 0; /* glibc: full re-initialisation (meshvpn's own parser ran before) */
	opterr = 0;
	while ((c = getopt_long(argc, argv, short_opts, long_opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (addr_parse(optarg, WSP_IP_ONLY_PORT, &o->listen) < 0)
				return usage_error(prog, "--listen: invalid address '%s'", optarg);
			break;
		case OPT_PUBLIC_IP:
			if (addr_parse(optarg, 0, &o->public_ip) < 0 || o->public_ip.port ||
			    addr_is_unspecified(&o->public_ip))
				return usage_error(prog, "--public-ip: not an IP address: '%s'",
						   optarg);
			o->has_public_ip = true;
			break;
		case OPT_PROXY_PROTOCOL:
			o->proxy_protocol = true;
			break;
		case OPT_MAX_CONNS:
			if (!parse_uint(optarg, 1, 1000000, &v))
				return usage_error(
				    prog, "--max-connections: 1 to 1000000, not '%s'", optarg);
			o->max_conns = (unsigned)v;
			break;
		case OPT_PER_SOURCE:
			if (!parse_uint(optarg, 1, 1000000, &v))
				return usage_error(prog, "--max-per-source: 1 to 1000000, not '%s'",
						   optarg);
			o->max_per_source = (unsigned)v;
			break;
		case OPT_IDLE:
			if (!parse_uint(optarg, 0, 86400 * 365, &v))
				return usage_error(prog, "--idle-timeout: seconds, not '%s'",
						   optarg);
			o->idle_timeout = (unsigned)v;
			break;
		case OPT_MAX_MSG:
			if (!parse_uint(optarg, ADDR_WIRE_LEN, WSP_DEFAULT_MAX_MSG, &v))
				return usage_error(
				    prog, "--max-message: 18 to 65553 bytes, not '%s'", optarg);
			o->max_msg = v;
			break;
		case OPT_LOG_FILE:
			*log_file = optarg;
			break;
		case OPT_TLS_CERT:
			o->tls_cert = optarg;
			break;
		case OPT_TLS_KEY:
			o->tls_key = optarg;
			break;
		case 'v':
			verbose = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			for (size_t i = 0; i < ARRAY_SIZE(help_text); i++)
				printf("%s\n", help_text[i]);
			return 1;
		case OPT_VERSION:
			printf("meshvpn-wsproxy %s\n", MESHVPN_VERSION);
			return 1;
		case ':':
			return usage_error(prog, "option %s needs a value", argv[optind - 1]);
		default:
			return usage_error(prog, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error(prog, "unexpected argument '%s'", argv[optind]);
	if (verbose && quiet)
		return usage_error(prog,
				   "options -v/--verbose and -q/--quiet cannot be used together");
	if (!o->tls_cert != !o->tls_key)
		return usage_error(prog, "--tls-cert and --tls-key go together (%s is missing)",
				   o->tls_cert ? "--tls-key" : "--tls-cert");
	if ((o->tls_cert && !*o->tls_cert) || (o->tls_key && !*o->tls_key))
		return usage_error(prog, "--tls-cert and --tls-key need a file name");
	*level = verbose ? LOG_DEBUG : quiet ? LOG_ERROR : LOG_INFO;
	return 0;
}

/* ---- server ---- */

/* Two descriptors per client (TCP, UDP); raise the soft limit as far as the hard one. */
static void raise_nofile(unsigned max_conns)
{
	rlim_t need = (rlim_t)max_conns * 2 + 64;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < need) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? need : MIN(need, rl.rlim_max);
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < need)
		log_warn("only %llu file descriptors allowed: fewer than %u connections possible",
			 (unsigned long long)rl.rlim_cur, max_conns);
}

static int open_listener(struct wsp *s)
{
	static const uint8_t any4[4];
	struct sockaddr_storage ss;
	struct addr a = s->o.listen;
	int family = AF_INET6, one = 1, off = 0, fd, err;
	socklen_t sl;

	fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 && errno == EAFNOSUPPORT) {
		family = AF_INET;
		if (addr_is_unspecified(&a))
			addr_set_v4(&a, any4, a.port);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	}
	if (fd < 0)
		return -errno;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* [::] takes IPv4 clients too, whatever net.ipv6.bindv6only says */
	if (family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	sl = addr_to_sockaddr(&a, &ss, family);
	if (!sl) {
		err = -EAFNOSUPPORT;
		goto fail;
	}
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, SOMAXCONN) < 0) {
		err = -errno;
		goto fail;
	}
	s->listen.fd = fd;
	s->listen.kind = WSP_KIND_LISTEN;
	err = loop_add(&s->loop, &s->listen, EPOLLIN);
	if (err == 0)
		return 0;
	s->listen.fd = -1;
fail:
	close(fd);
	return err;
}

static void pause_listener(struct wsp *s, bool pause)
{
	if (pause == s->listen_paused)
		return;
	if (loop_mod(&s->loop, &s->listen, pause ? 0 : EPOLLIN) == 0)
		s->listen_paused = pause;
	s->listen_resume = s->now + ACCEPT_PAUSE_MS;
}

static void accept_clients(struct wsp *s)
{
	char a[ADDR_STRLEN];

	for (int k = 0; k < ACCEPTS_PER_EVENT; k++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct addr peer;
		int fd = accept4(s->listen.fd, (struct sockaddr *)&ss, &sl,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* out of descriptors or memory: stop accepting for a moment, not spin */
			s->st.accept_errors++;
			log_rl(LOG_WARN, "cannot accept connections: %s; pausing for 1 s",
			       strerror(errno));
			pause_listener(s, true);
			return;
		}
		if (addr_from_sockaddr(&peer, (struct sockaddr *)&ss, sl) < 0) {
			close(fd);
			continue;
		}
		s->st.accepted++;
		if (s->n_conns >= s->o.max_conns) {
			s->st.refused_total++;
			close(fd);
			log_rl(LOG_WARN,
			       "client %s refused: %u connections open (--max-connections)",
			       addr_format(&peer, a), s->n_conns);
			continue;
		}
		conn_accept(s, fd, &peer);
	}
}

static void print_stats(const struct wsp *s)
{
	struct wsp_stats t = s->st;

	/* the open connections' traffic so far */
	for (const struct conn *c = s->conns; c; c = c->next) {
		t.to_udp_msgs += c->to_udp_msgs;
		t.to_udp_bytes += c->to_udp_bytes;
		t.to_ws_msgs += c->to_ws_msgs;
		t.to_ws_bytes += c->to_ws_bytes;
	}
	log_info("stats: %u connections open; %llu accepted, %llu upgraded, %llu closed; refused: "
		 "%llu at --max-connections, %llu at --max-per-source, %llu accept errors",
		 s->n_conns, (unsigned long long)t.accepted, (unsigned long long)t.upgraded,
		 (unsigned long long)t.closed, (unsigned long long)t.refused_total,
		 (unsigned long long)t.refused_source, (unsigned long long)t.accept_errors);
	log_info("stats: failed: %llu bad and %llu missing PROXY headers, %llu TLS handshakes, "
		 "%llu bad and %llu missing upgrades, %llu idle timeouts, %llu WebSocket errors",
		 (unsigned long long)t.proxy_bad, (unsigned long long)t.proxy_timeout,
		 (unsigned long long)t.tls_failed, (unsigned long long)t.upgrade_bad,
		 (unsigned long long)t.upgrade_timeout, (unsigned long long)t.idle_closed,
		 (unsigned long long)t.ws_errors);
	log_info("stats: to UDP %llu datagrams (%llu bytes), dropped %llu bad addresses and %llu "
		 "send errors; to clients %llu datagrams (%llu bytes), dropped %llu (client too "
		 "slow)",
		 (unsigned long long)t.to_udp_msgs, (unsigned long long)t.to_udp_bytes,
		 (unsigned long long)t.to_udp_bad_addr, (unsigned long long)t.to_udp_errors,
		 (unsigned long long)t.to_ws_msgs, (unsigned long long)t.to_ws_bytes,
		 (unsigned long long)t.to_ws_dropped);
}

static void tick(struct wsp *s)
{
	struct conn *next;

	if (s->listen_paused && s->now >= s->listen_resume)
		pause_listener(s, false);
	for (struct conn *c = s->conns; c; c = next) {
		next = c->next; /* conn_tick may close c */
		conn_tick(s, c);
	}
}

/* Logs what was loaded; an expired certificate is worth a warning, not a refusal. */
static void describe_cert(const struct wsp *s, const char *what)
{
	char d[512];

	wsp_tls_describe(s->tls, d, sizeof(d));
	log_info("%s %s: %s", what, s->o.tls_cert, d);
	if (wsp_tls_expired(s->tls))
		log_warn("the certificate in %s has expired: clients will refuse it",
			 s->o.tls_cert);
}

/*
 * SIGHUP: reads the certificate and key again (a renewed certificate). Connections keep
 * the context they started with (OpenSSL counts its references); new ones get the new one.
 * If the files cannot be used the old context stays.
 */
static void reload_tls(struct wsp *s)
{
	char why[WSP_TLS_WHY_MAX];
	SSL_CTX *ctx;

	if (!s->tls) {
		log_info("SIGHUP: no TLS certificate to reload");
		return;
	}
	if (wsp_tls_load(s->o.tls_cert, s->o.tls_key, &ctx, why) < 0) {
		log_err("cannot reload the TLS certificate: %s; keeping the old one", why);
		return;
	}
	SSL_CTX_free(s->tls);
	s->tls = ctx;
	describe_cert(s, "reloaded the certificate");
}

/* Handles pending signals; false when the proxy is to stop. */
static bool signals(struct wsp *s)
{
	int sigs[16], n = loop_signal_read(&s->loop, sigs, ARRAY_SIZE(sigs));
	bool run = true;

	for (int i = 0; i < n; i++) {
		switch (sigs[i]) {
		case SIGUSR1:
			print_stats(s);
			break;
		case SIGHUP:
			reload_tls(s);
			break;
		case SIGINT:
		case SIGTERM:
		case SIGQUIT:
			log_info("signal %d: shutting down", sigs[i]);
			run = false;
			break;
		default:
			break; /* SIGCHLD: no children */
		}
	}
	return run;
}

static int run(struct wsp *s)
{
	struct loop_event ev[LOOP_MAX_EVENTS];
	bool running = true;

	while (running) {
		/* connections with decrypted bytes waiting must not wait for an event */
		int n = loop_wait(&s->loop, ev, LOOP_MAX_EVENTS, s->ready ? 0 : -1);

		s->now = now_ms();
		if (n < 0) {
			log_err("epoll_wait: %s", strerror(-n));
			return -1;
		}
		for (int i = 0; i < n; i++) {
			struct loop_src *src = ev[i].src;
			struct conn *c;

			switch (src->kind) {
			case LOOP_KIND_TIMER:
				loop_timer_ack(&s->loop);
				tick(s);
				break;
			case LOOP_KIND_SIGNAL:
				running = signals(s) && running;
				break;
			case WSP_KIND_LISTEN:
				accept_clients(s);
				break;
			case WSP_KIND_TCP:
				/* closed connections stay allocated until conn_reap() */
				c = container_of(src, struct conn, tcp);
				if (c->state != CS_DEAD)
					conn_tcp_event(s, c, ev[i].events);
				break;
			case WSP_KIND_UDP:
				c = container_of(src, struct conn, udp);
				if (c->state != CS_DEAD)
					conn_udp_event(s, c, ev[i].events);
				break;
			default:
				break;
			}
		}
		conn_run_ready(s);
		conn_reap(s);
	}
	return 0;
}

/* Start-up allocations: the batch buffers, shared by all connections (one at a time). */
static int alloc_batches(struct wsp *s)
{
	s->rx.bufs = malloc((size_t)WSP_BATCH * WSP_UDP_MAX);
	s->tx.arena = malloc(WSP_TX_ARENA);
	if (!s->rx.bufs || !s->tx.arena)
		return -ENOMEM;
	for (unsigned i = 0; i < WSP_BATCH; i++) {
		s->rx.iov[i].iov_base = s->rx.bufs + (size_t)i * WSP_UDP_MAX;
		s->rx.iov[i].iov_len = WSP_UDP_MAX;
		s->rx.msgs[i].msg_hdr = (struct msghdr){
		    .msg_name = &s->rx.names[i],
		    .msg_namelen = sizeof(s->rx.names[i]),
		    .msg_iov = &s->rx.iov[i],
		    .msg_iovlen = 1,
		};
	}
	return 0;
}

int wsproxy_main(int argc, char **argv)
{
	struct wsp *s = calloc(1, sizeof(*s));
	const char *log_file;
	enum log_level level = LOG_INFO;
	char a[ADDR_STRLEN];
	int r, status = EXIT_FAILURE;

	if (!s) {
		fprintf(stderr, "ws-proxy: out of memory\n");
		return EXIT_FAILURE;
	}
	s->listen.fd = -1;
	s->loop.epfd = s->loop.timer.fd = s->loop.signal.fd = -1;
	r = parse_opts(argc, argv, &s->o, &level, &log_file);
	if (r != 0) {
		free(s);
		return r > 0 ? EXIT_SUCCESS : EXIT_USAGE;
	}
	log_set_level(level);
	signal(SIGPIPE, SIG_IGN);
	/* per-connection buffers go back to the system when a connection closes */
	mallopt(M_MMAP_THRESHOLD, 64 * 1024);
	if (sodium_init() < 0) {
		log_err("libsodium failed to initialise");
		goto out;
	}
	if (log_file && (r = log_open_file(log_file)) < 0) {
		log_err("cannot open the log file %s: %s", log_file, strerror(-r));
		goto out;
	}
	if (s->o.tls_cert) {
		char why[WSP_TLS_WHY_MAX];

		if (wsp_tls_load(s->o.tls_cert, s->o.tls_key, &s->tls, why) < 0) {
			log_err("%s", why);
			status = EXIT_USAGE;
			goto out;
		}
	}
	raise_nofile(s->o.max_conns);
	r = loop_init(&s->loop, WSP_TICK_MS);
	if (r == 0)
		r = alloc_batches(s);
	if (r < 0) {
		log_err("cannot set up the event loop: %s", strerror(-r));
		goto out;
	}
	r = open_listener(s);
	if (r < 0) {
		log_err("cannot listen on %s: %s", addr_format(&s->o.listen, a), strerror(-r));
		goto out;
	}
	s->now = now_ms();
	log_info("meshvpn-wsproxy %s listening on %s://%s%s", MESHVPN_VERSION,
		 s->tls ? "wss" : "ws", addr_format(&s->o.listen, a),
		 s->o.proxy_protocol ? ", PROXY protocol v2 header required" : "");
	if (s->tls)
		describe_cert(s, "certificate");
	if (run(s) == 0)
		status = EXIT_SUCCESS;

	while (s->conns)
		conn_close(s, s->conns, WS_CLOSE_GOING_AWAY, "proxy shutting down");
	conn_reap(s);
	print_stats(s);
	log_info("meshvpn-wsproxy stopped");
out:
	if (s->listen.fd >= 0)
		close(s->listen.fd);
	loop_close(&s->loop);
	log_close_file();
	SSL_CTX_free(s->tls);
	free(s->rx.bufs);
	free(s->tx.arena);
	free(s);
	return status;
}
