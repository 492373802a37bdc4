// SPDX-License-Identifier: GPL-3.0-or-later
/* beacon_cmd.c - `meshvpn beacon encode|decode|markers`: beacons from the command line. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "meshvpn/beacon.h"
#include "meshvpn/beacon_cmd.h"
#include "meshvpn/config_load.h"

#define INPUT_MAX    (64u << 20) /* bytes of text decode reads */
#define PASSWORD_MAX 4096	 /* bytes of a --password-file line */

enum {
	OPT_PASSWORD_FILE = 256,
	OPT_CONFIG,
	OPT_HOUR,
	OPT_TTL,
	OPT_ENV,
};

static const struct option opts[] = {
    {"password", required_argument, NULL, 'p'},
    {"password-file", required_argument, NULL, OPT_PASSWORD_FILE},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"hour", required_argument, NULL, OPT_HOUR},
    {"ttl", required_argument, NULL, OPT_TTL},
    {"env", no_argument, NULL, OPT_ENV},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char usage_text[] =
    "Usage: meshvpn beacon encode [OPTIONS] ADDR...   print a beacon of the addresses\n"
    "       meshvpn beacon decode [OPTIONS] [FILE|-]  print the addresses of all beacons\n"
    "       meshvpn beacon markers [OPTIONS]          print the begin and end markers\n"
    "\n"
    "ADDR is IP, IP:PORT or [IPv6]:PORT (default port 3210). decode reads FILE or standard\n"
    "input, finds every beacon in the text (also split by whitespace or punctuation), prints\n"
    "one address per line and exits with 1 when it finds no valid beacon.\n"
    "\n"
    "Options:\n"
    "  -p, --password TEXT      beacon password (--beacon-password of the node)\n"
    "      --password-file FILE the password is the first line of FILE\n"
    "      --config FILE        the password is beacon.password of this node configuration\n"
    "      --hour N             hour value 0-65535 (default: CLOCK_MONOTONIC hours mod 65536,\n"
    "                           what VpnCloud writes and compares)\n"
    "      --ttl HOURS          decode: drop beacons more than HOURS from the hour, as\n"
    "                           VpnCloud does with 50 (default: no check)\n"
    "      --env                encode, markers: print shell assignments (begin=, data=, end=,\n"
    "                           beacon=), the variables a beacon store command gets\n"
    "  -v, --verbose            report every candidate (decode) or the hour used (encode)\n"
    "  -h, --help               show this help\n";

struct ctx {
	FILE *in, *out, *err;
	const char *action;
	char *password; /* owned, wiped */
	const char *config;
	bool have_hour, env, verbose;
	uint16_t hour;
	int ttl;
};

static int PRINTF(2, 3) usage(struct ctx *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(c->err, "meshvpn beacon: ");
	va_start(ap, fmt);
	vfprintf(c->err, fmt, ap);
	va_end(ap);
	fprintf(c->err, "\nTry 'meshvpn beacon --help' for more information.\n");
	return BEACON_CMD_USAGE;
}

static int PRINTF(2, 3) failure(struct ctx *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(c->err, "meshvpn beacon %s: ", c->action);
	va_start(ap, fmt);
	vfprintf(c->err, fmt, ap);
	va_end(ap);
	fputc('\n', c->err);
	return EXIT_FAILURE;
}

static void set_password(struct ctx *c, char *pw)
{
	if (c->password) {
		sodium_memzero(c->password, strlen(c->password));
		free(c->password);
	}
	c->password = pw;
}

/* 0..max, decimal digits only. */
static bool parse_num(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno == 0 && *end == '\0' && *out <= max;
}

/* The first line of path (without the line end) as the password. 0 or an exit status. */
static int read_password_file(struct ctx *c, const char *path)
{
	char *buf = malloc(PASSWORD_MAX + 2);
	FILE *f;
	size_t n;

	if (!buf)
		return failure(c, "out of memory");
	f = fopen(path, "r");
	if (!f) {
		free(buf);
		return failure(c, "%s: %s", path, strerror(errno));
	}
	if (!fgets(buf, PASSWORD_MAX + 2, f))
		buf[0] = '\0';
	fclose(f);
	n = strcspn(buf, "\r\n");
	if (n > PASSWORD_MAX) {
		sodium_memzero(buf, PASSWORD_MAX + 2);
		free(buf);
		return failure(c, "%s: first line longer than %d bytes", path, PASSWORD_MAX);
	}
	sodium_memzero(buf + n, PASSWORD_MAX + 2 - n);
	set_password(c, buf);
	return 0;
}

/* beacon.password of a node configuration file. 0 or an exit status. */
static int read_config_password(struct ctx *c)
{
	struct config cfg;
	struct config_error why;
	int r;

	config_layer_init(&cfg);
	r = config_load_file(&cfg, c->config, &why);
	if (r == 0 && cfg.beacon_password) {
		char *pw = strdup(cfg.beacon_password);
		if (!pw)
			r = -ENOMEM;
		else
			set_password(c, pw);
	}
	config_free(&cfg);
	if (r < 0)
		return failure(c, "%s", r == -ENOMEM ? "out of memory" : why.msg);
	return 0;
}

static uint16_t now_hour(void)
{
	struct timespec ts = {0};

	/* VpnCloud's clock: the coarse monotonic clock, seconds since boot */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return beacon_hour((uint64_t)ts.tv_sec);
}

static int cmd_markers(struct ctx *c)
{
	struct beacon_markers m;

	beacon_markers(&m, c->password);
	if (c->env)
		fprintf(c->out, "begin=%s\nend=%s\n", m.begin, m.end);
	else
		fprintf(c->out, "%s\n%s\n", m.begin, m.end);
	return 0;
}

static int cmd_encode(struct ctx *c, int argc, char **argv)
{
	struct addr addrs[BEACON_LIMIT_ADDRS];
	char b[BEACON_STRLEN(BEACON_LIMIT_ADDRS) + 1];
	size_t n = 0;
	uint16_t used;
	int len;

	if (argc == 0)
		return usage(c, "encode: no address given");
	if (argc > BEACON_LIMIT_ADDRS)
		return usage(c, "encode: more than %d addresses", BEACON_LIMIT_ADDRS);
	for (int i = 0; i < argc; i++) {
		struct addr *a = &addrs[n++];
		static const uint8_t zero4[4];

		if (addr_parse(argv[i], ADDR_DEFAULT_PORT, a) < 0)
			return usage(c, "encode: '%s': not an address (IP, IP:PORT or [IPv6]:PORT)",
				     argv[i]);
		if (addr_is_unspecified(a) || (addr_is_v4(a) && !memcmp(a->ip + 12, zero4, 4)))
			return usage(c, "encode: '%s': unspecified address", argv[i]);
		if (a->port == 0)
			return usage(c, "encode: '%s': port 0", argv[i]);
	}
	len = beacon_encode(b, sizeof(b), c->password, c->have_hour ? c->hour : now_hour(), addrs,
			    n, &used);
	if (len < 0)
		return failure(c, "%s", strerror(-len)); /* cannot happen: sizes checked */
	if (c->verbose)
		fprintf(c->err, "meshvpn beacon encode: hour %u\n", used);
	if (c->env)
		fprintf(c->out, "begin=%.*s\ndata=%.*s\nend=%s\nbeacon=%s\n", BEACON_MARKER_LEN, b,
			len - 2 * BEACON_MARKER_LEN, b + BEACON_MARKER_LEN,
			b + len - BEACON_MARKER_LEN, b);
	else
		fprintf(c->out, "%s\n", b);
	return 0;
}

/* Reads all of f into *buf (malloc'd). 0 or an exit status. */
static int read_all(struct ctx *c, FILE *f, const char *name, char **buf, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *p = malloc(cap);

	while (p) {
		size_t got = fread(p + n, 1, cap - n, f);
		n += got;
		if (n < cap) {
			if (ferror(f)) {
				free(p);
				return failure(c, "%s: read error", name);
			}
			*buf = p;
			*len = n;
			return 0;
		}
		if (cap >= INPUT_MAX) {
			free(p);
			return failure(c, "%s: more than %u MiB", name, INPUT_MAX >> 20);
		}
		char *q = realloc(p, cap * 2);
		if (!q)
			free(p);
		p = q;
		cap *= 2;
	}
	return failure(c, "out of memory");
}

struct decode_state {
	struct ctx *c;
	const char *name;
};

static void decode_cb(void *arg, const struct beacon_found *f)
{
	struct decode_state *d = arg;
	struct ctx *c = d->c;
	char buf[ADDR_STRLEN];

	if (c->verbose) {
		if (f->status == BEACON_OK)
			fprintf(c->err, "%s: beacon at byte %zu: hour %u, %zu address%s\n", d->name,
				f->offset, f->hour, f->naddrs, f->naddrs == 1 ? "" : "es");
		else if (f->status == BEACON_EXPIRED || f->status == BEACON_BAD_LENGTH)
			fprintf(c->err, "%s: candidate at byte %zu: %s (hour %u)\n", d->name,
				f->offset, beacon_status_str(f->status), f->hour);
		else
			fprintf(c->err, "%s: candidate at byte %zu: %s\n", d->name, f->offset,
				beacon_status_str(f->status));
	}
	for (size_t i = 0; i < f->naddrs; i++)
		fprintf(c->out, "%s\n", addr_format(&f->addrs[i], buf));
}

static int cmd_decode(struct ctx *c, int argc, char **argv)
{
	const char *name = argc ? argv[0] : "-";
	struct decode_state d = {c, strcmp(name, "-") ? name : "stdin"};
	struct beacon_markers m;
	struct beacon_stats st;
	char *text = NULL;
	FILE *f = c->in;
	size_t len = 0;
	int r;

	if (argc > 1)
		return usage(c, "decode: more than one file given");
	if (strcmp(name, "-") != 0) {
		f = fopen(name, "r");
		if (!f)
			return failure(c, "%s: %s", name, strerror(errno));
	}
	r = read_all(c, f, d.name, &text, &len);
	if (f != c->in)
		fclose(f);
	if (r)
		return r;
	beacon_scan(c->password, text, len, c->have_hour ? c->hour : now_hour(), c->ttl, decode_cb,
		    &d, &st);
	free(text);
	if (st.count[BEACON_OK] > 0)
		return 0;
	if (st.candidates == 0) {
		beacon_markers(&m, c->password);
		return failure(c,
			       "%s: no beacon: no begin marker %s followed by the end marker %s "
			       "(other password?)",
			       d.name, m.begin, m.end);
	}
	fprintf(c->err,
		"meshvpn beacon decode: %s: no valid beacon, %u candidate%s rejected:", d.name,
		st.candidates, st.candidates == 1 ? "" : "s");
	for (int s = 1, first = 1; s < BEACON_NSTATUS; s++) {
		if (st.count[s] == 0)
			continue;
		fprintf(c->err, "%s %u %s", first ? "" : ",", st.count[s],
			beacon_status_str((enum beacon_status)s));
		first = 0;
	}
	fputc('\n', c->err);
	return EXIT_FAILURE;
}

/* Parses the options after the action; sets *rest to the first operand. 0 or exit status. */
static int parse_opts(struct ctx *c, int argc, char **argv, int *rest)
{
	bool decode = !strcmp(c->action, "decode"), encode = !strcmp(c->action, "encode");
	unsigned long v;
	int r, opt;

	optind = 0; /* full re-initialisation (glibc): main's parser ran before */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":p:vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'p': {
			char *pw = strdup(optarg);
			if (!pw)
				return failure(c, "out of memory");
			set_password(c, pw);
			c->config = NULL; /* an explicit password wins over --config */
			break;
		}
		case OPT_PASSWORD_FILE:
			r = read_password_file(c, optarg);
			if (r)
				return r;
			c->config = NULL;
			break;
		case OPT_CONFIG:
			if (!c->password)
				c->config = optarg;
			break;
		case OPT_HOUR:
			if (!parse_num(optarg, 65535, &v))
				return usage(c, "--hour: '%s' is not a number from 0 to 65535",
					     optarg);
			c->have_hour = true;
			c->hour = (uint16_t)v;
			break;
		case OPT_TTL:
			if (!decode)
				return usage(c, "--ttl is an option of decode");
			if (!parse_num(optarg, 65535, &v))
				return usage(c, "--ttl: '%s' is not a number from 0 to 65535",
					     optarg);
			c->ttl = (int)v;
			break;
		case OPT_ENV:
			if (decode)
				return usage(c, "--env is an option of encode and markers");
			c->env = true;
			break;
		case 'v':
			c->verbose = true;
			break;
		case 'h':
			fputs(usage_text, c->out);
			return -1;
		case ':':
			return usage(c, "option %s needs a value", argv[optind - 1]);
		default:
			if (optopt && optopt < 256)
				return usage(c, "unknown option -%c", optopt);
			return usage(c, "unknown option %s", argv[optind - 1]);
		}
	}
	if (c->have_hour && !encode && !decode)
		return usage(c, "--hour is an option of encode and decode");
	if (c->config) {
		r = read_config_password(c);
		if (r)
			return r;
	}
	*rest = optind;
	return 0;
}

int beacon_cmd(int argc, char **argv, FILE *in, FILE *out, FILE *err)
{
	struct ctx c = {.in = in, .out = out, .err = err, .ttl = BEACON_TTL_NONE};
	int r, rest = 0;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "help")) {
		fputs(usage_text, argc < 2 ? err : out);
		return argc < 2 ? BEACON_CMD_USAGE : 0;
	}
	c.action = argv[1];
	if (strcmp(c.action, "encode") && strcmp(c.action, "decode") && strcmp(c.action, "markers"))
		return usage(&c, "unknown action '%s' (encode, decode or markers)", c.action);
	r = parse_opts(&c, argc - 1, argv + 1, &rest);
	if (r == 0) {
		argc -= 1 + rest;
		argv += 1 + rest;
		if (!strcmp(c.action, "encode"))
			r = cmd_encode(&c, argc, argv);
		else if (!strcmp(c.action, "decode"))
			r = cmd_decode(&c, argc, argv);
		else if (argc > 0)
			r = usage(&c, "markers: unexpected argument '%s'", argv[0]);
		else
			r = cmd_markers(&c);
	} else if (r < 0) {
		r = 0; /* --help */
	}
	set_password(&c, NULL);
	if (fflush(out) != 0 && r == 0)
		r = failure(&c, "write error");
	return r;
}

int beacon_cmd_main(int argc, char **argv)
{
	return beacon_cmd(argc, argv, stdin, stdout, stderr);
}
