// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * hooks.c - event hooks: per-event environment, background `sh -c` processes with a bound
 * on how many run at once, reaping after SIGCHLD, and the spawn helpers ifup/ifdown share.
 */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "meshvpn/hooks.h"
#include "meshvpn/log.h"

extern char **environ;

struct job {
	enum config_hook_event ev;
	int nvars;
	char *vars[HOOKS_NVARS];
};

struct hooks {
	char *global;
	char *scripts[CONFIG_HOOK_COUNT];
	struct {
		pid_t pid;
		enum config_hook_event ev;
	} run[HOOKS_MAX_RUNNING];
	unsigned n_running;
	struct job queue[HOOKS_MAX_QUEUED]; /* ring buffer, oldest at q_head */
	unsigned q_head, q_n;
	struct hooks_stats stats;
};

/* Variables never handed to a child: the node's secrets. */
static const char *const secret_env[] = {"PASSWORD=", "PRIVATE_KEY="};

/* ---- formats (CONFIG.md 8.1) ---- */

const char *hooks_format_peer(const struct addr *a, bool mapped, char buf[ADDR_STRLEN])
{
	char ip[ADDR_STRLEN];

	if (mapped && addr_is_v4(a)) {
		/* the reference prints its internal IPv4-mapped form after a CLOSE (quirk) */
		snprintf(buf, ADDR_STRLEN, "[::ffff:%s]:%u", addr_format_ip(a, ip), a->port);
		return buf;
	}
	return addr_format(a, buf);
}

char *hooks_format_claims(const struct range *claims, size_t n)
{
	char *s = malloc(n * (VADDR_STRLEN + 5) + 1);
	size_t len = 0;

	if (!s)
		return NULL;
	s[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		char r[VADDR_STRLEN + 4];
		len += (size_t)sprintf(s + len, "%s%s", i ? " " : "", range_format(&claims[i], r));
	}
	return s;
}

const char *hooks_format_node_id(const uint8_t id[HOOKS_NODE_ID_LEN],
				 char buf[2 * HOOKS_NODE_ID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < HOOKS_NODE_ID_LEN; i++) {
		buf[2 * i] = hex[id[i] >> 4];
		buf[2 * i + 1] = hex[id[i] & 15];
	}
	buf[2 * HOOKS_NODE_ID_LEN] = '\0';
	return buf;
}

static bool is_peer_event(enum config_hook_event ev)
{
	return ev == CONFIG_HOOK_PEER_CONNECTING || ev == CONFIG_HOOK_PEER_CONNECTED ||
	       ev == CONFIG_HOOK_PEER_DISCONNECTED;
}

/* Appends one "NAME=value" to out[*n]; false on ENOMEM. */
static PRINTF(3, 4) bool add_var(char *out[HOOKS_NVARS], int *n, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		return false;
	out[(*n)++] = s;
	return true;
}

int hooks_vars_build(enum config_hook_event ev, const struct hooks_vars *v, char *out[HOOKS_NVARS])
{
	char buf[ADDR_STRLEN], id[2 * HOOKS_NODE_ID_LEN + 1];
	bool closed = ev == CONFIG_HOOK_PEER_DISCONNECTED && v->node_id;
	bool ok;
	int n = 0;

	ok = add_var(out, &n, "EVENT=%s", config_hook_event_name(ev));
	if (ok && v->ifname)
		ok = add_var(out, &n, "IFNAME=%s", v->ifname);
	if (ok && is_peer_event(ev) && v->peer)
		ok = add_var(out, &n, "PEER=%s", hooks_format_peer(v->peer, closed, buf));
	if (ok && ev == CONFIG_HOOK_PEER_CONNECTED) {
		char *c = hooks_format_claims(v->claims, v->n_claims);
		ok = c && add_var(out, &n, "CLAIMS=%s", c);
		free(c);
	}
	if (ok && (ev == CONFIG_HOOK_PEER_CONNECTED || closed) && v->node_id)
		ok = add_var(out, &n, "NODE_ID=%s", hooks_format_node_id(v->node_id, id));
	if (!ok) {
		hooks_vars_free(out, n);
		return -ENOMEM;
	}
	return n;
}

void hooks_vars_free(char *vars[], int n)
{
	for (int i = 0; i < n; i++) {
		free(vars[i]);
		vars[i] = NULL;
	}
}

/* ---- spawning ---- */

static bool same_name(const char *a, const char *b)
{
	size_t n = strcspn(b, "=");
	return strncmp(a, b, n) == 0 && a[n] == '=';
}

char **hooks_env_new(char *const add[], size_t n)
{
	size_t count = 0, k = 0;
	char **envp;

	while (environ && environ[count])
		count++;
	envp = calloc(count + n + 1, sizeof(*envp));
	if (!envp)
		return NULL;
	for (size_t i = 0; i < count; i++) {
		bool skip = false;
		for (size_t j = 0; j < ARRAY_SIZE(secret_env) && !skip; j++)
			skip = same_name(environ[i], secret_env[j]);
		for (size_t j = 0; j < n && !skip; j++)
			skip = same_name(environ[i], add[j]);
		if (!skip)
			envp[k++] = environ[i];
	}
	for (size_t j = 0; j < n; j++)
		envp[k++] = add[j];
	envp[k] = NULL;
	return envp;
}

int hooks_spawn(const char *cmd, char *const envp[], pid_t *pid)
{
	return hooks_spawn_io(cmd, envp, NULL, pid);
}

int hooks_spawn_io(const char *cmd, char *const envp[], const int stdio[3], pid_t *pid)
{
	static const int reset[] = {SIGINT,  SIGTERM, SIGQUIT, SIGHUP,
				    SIGCHLD, SIGPIPE, SIGUSR1, SIGUSR2};
	char *argv[] = {"sh", "-c", (char *)cmd, NULL};
	posix_spawnattr_t attr;
	sigset_t set;
	int err;

	err = posix_spawnattr_init(&attr);
	if (err)
		return -err;
	/* loop.c blocks the signals it reads from a signalfd; the script must not inherit that */
	sigemptyset(&set);
	posix_spawnattr_setsigmask(&attr, &set);
	for (size_t i = 0; i < ARRAY_SIZE(reset); i++)
		sigaddset(&set, reset[i]);
	posix_spawnattr_setsigdefault(&attr, &set);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	/*
	 * Only stdin/stdout/stderr reach the script: our own fds are close-on-exec, but
	 * libraries' (miniupnpc's sockets) are not.
	 */
	posix_spawn_file_actions_t fa;
	err = posix_spawn_file_actions_init(&fa);
	if (err) {
		posix_spawnattr_destroy(&attr);
		return -err;
	}
	for (int i = 0; stdio && i < 3 && !err; i++)
		if (stdio[i] >= 0)
			err = posix_spawn_file_actions_adddup2(&fa, stdio[i], i);
	if (!err)
		err = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	if (!err)
		err = posix_spawn(pid, "/bin/sh", &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	return -err;
}

int hooks_status_code(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	return 128 + (WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0);
}

/* ---- the hook table ---- */

int hooks_new(const char *global, char *const per_event[CONFIG_HOOK_COUNT], struct hooks **out)
{
	struct hooks *h = calloc(1, sizeof(*h));

	*out = NULL;
	if (!h)
		return -ENOMEM;
	if (global && !(h->global = strdup(global)))
		goto fail;
	for (int i = 0; per_event && i < CONFIG_HOOK_COUNT; i++)
		if (per_event[i] && !(h->scripts[i] = strdup(per_event[i])))
			goto fail;
	*out = h;
	return 0;
fail:
	hooks_free(h);
	return -ENOMEM;
}

void hooks_free(struct hooks *h)
{
	if (!h)
		return;
	while (h->q_n) {
		struct job *j = &h->queue[h->q_head];
		hooks_vars_free(j->vars, j->nvars);
		h->q_head = (h->q_head + 1) % HOOKS_MAX_QUEUED;
		h->q_n--;
	}
	free(h->global);
	for (int i = 0; i < CONFIG_HOOK_COUNT; i++)
		free(h->scripts[i]);
	free(h);
}

const char *hooks_script(const struct hooks *h, enum config_hook_event ev)
{
	if (!h || (unsigned)ev >= CONFIG_HOOK_COUNT)
		return NULL;
	return h->scripts[ev] ? h->scripts[ev] : h->global;
}

unsigned hooks_running(const struct hooks *h)
{
	return h->n_running;
}

unsigned hooks_queued(const struct hooks *h)
{
	return h->q_n;
}

const struct hooks_stats *hooks_stats(const struct hooks *h)
{
	return &h->stats;
}

/* Starts job in a free slot; the job's variables are consumed either way. */
static int start(struct hooks *h, struct job *j)
{
	char **envp = hooks_env_new(j->vars, (size_t)j->nvars);
	const char *name = config_hook_event_name(j->ev);
	pid_t pid;
	int r = envp ? hooks_spawn(hooks_script(h, j->ev), envp, &pid) : -ENOMEM;

	free(envp);
	hooks_vars_free(j->vars, j->nvars);
	if (r < 0) {
		h->stats.failed++;
		log_rl(LOG_WARN, "cannot start the %s hook: %s", name, strerror(-r));
		return r;
	}
	h->run[h->n_running].pid = pid;
	h->run[h->n_running].ev = j->ev;
	h->n_running++;
	h->stats.started++;
	log_debug("Started the %s hook (pid %d)", name, (int)pid);
	return 0;
}

static void start_queued(struct hooks *h)
{
	while (h->q_n && h->n_running < HOOKS_MAX_RUNNING) {
		struct job j = h->queue[h->q_head];
		h->q_head = (h->q_head + 1) % HOOKS_MAX_QUEUED;
		h->q_n--;
		(void)start(h, &j); /* logged */
	}
}

int hooks_fire(struct hooks *h, enum config_hook_event ev, const struct hooks_vars *v)
{
	struct job j = {.ev = ev};

	if (!hooks_script(h, ev))
		return 0;
	if (h->n_running >= HOOKS_MAX_RUNNING && h->q_n >= HOOKS_MAX_QUEUED) {
		h->stats.dropped++;
		log_rl(LOG_WARN, "%u hooks running and %u waiting: dropped the %s hook",
		       h->n_running, h->q_n, config_hook_event_name(ev));
		return -ENOSPC;
	}
	j.nvars = hooks_vars_build(ev, v, j.vars);
	if (j.nvars < 0)
		return j.nvars;
	if (h->n_running < HOOKS_MAX_RUNNING)
		return start(h, &j);
	/* every slot busy: wait in order; hooks_reap() starts it when one ends */
	h->queue[(h->q_head + h->q_n) % HOOKS_MAX_QUEUED] = j;
	h->q_n++;
	log_debug("Queued the %s hook (%u waiting)", config_hook_event_name(ev), h->q_n);
	return 0;
}

int hooks_reap(struct hooks *h)
{
	int status, count = 0;

	/*
	 * Only our own children: other modules wait for theirs (ifup/ifdown, beacon commands
	 * in a worker), and waitpid(-1) here would take their exit status away.
	 */
	for (unsigned i = 0; i < h->n_running;) {
		pid_t pid = waitpid(h->run[i].pid, &status, WNOHANG);
		if (pid <= 0) {
			i++;
			continue;
		}
		count++;
		const char *name = config_hook_event_name(h->run[i].ev);
		int code = hooks_status_code(status);
		h->stats.exited++;
		h->stats.last_status = code;
		if (WIFEXITED(status) && code == 0) {
			log_debug("The %s hook (pid %d) finished", name, (int)pid);
		} else {
			h->stats.nonzero++;
			if (WIFEXITED(status))
				log_warn("The %s hook (pid %d) exited with status %d", name,
					 (int)pid, code);
			else
				log_warn("The %s hook (pid %d) was killed by signal %d", name,
					 (int)pid, code - 128);
		}
		h->run[i] = h->run[--h->n_running];
	}
	start_queued(h);
	return count;
}

int hooks_drain(struct hooks *h, int timeout_ms)
{
	struct timespec step = {0, 10 * 1000 * 1000};
	int waited = 0;

	if (!h)
		return 0;
	hooks_reap(h);
	while (h->n_running + h->q_n > 0 && waited < timeout_ms) {
		nanosleep(&step, NULL);
		waited += 10;
		hooks_reap(h);
	}
	if (h->n_running + h->q_n > 0)
		log_info("%u hooks still running, %u not started; not waiting for them",
			 h->n_running, h->q_n);
	return (int)(h->n_running + h->q_n);
}
