/* ftpgw.c: main(): options, config, listeners, then the event loop. All that
 * can fail for an operator's reason fails here, before the loop, with a
 * message; nothing after this point exits on a session's behalf. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <linux/capability.h>

#include <event2/event.h>

#include "conf.h"
#include "fwrules.h"
#include "gateway.h"
#include "log.h"
#include "notify.h"
#include "priv.h"
#include "tls.h"

#ifndef FTPGW_CONF
#define FTPGW_CONF "/etc/ftpgw.conf"
#endif

static void
usage(void)
{
	fprintf(stderr, "usage: ftpgw [-c file] [-f] [-d] [-t] [-R [-i]] [-V]\n"
	    "  -c file  configuration file (default %s)\n"
	    "  -f       stay in the foreground\n"
	    "  -d       debug: log at debug level to stderr (implies -f)\n"
	    "  -t       check the configuration and exit (0 good, 1 bad)\n"
	    "  -R       print the nftables rules the configuration needs and exit\n"
	    "  -i       with -R: an iptables script instead\n"
	    "  -V       print the version and exit\n", FTPGW_CONF);
	exit(2);
}

/* libevent's own warnings go to our log, not to stderr behind our back. */
static void
libevent_log_cb(int severity, const char *msg)
{
	int level = severity >= EVENT_LOG_ERR ? LL_ERROR :
	    severity == EVENT_LOG_WARN ? LL_WARN : LL_DEBUG;

	log_msg(level, "libevent: %s", msg);
}

/* Every session needs descriptors: take all the hard limit allows. */
static void
raise_fd_limit(unsigned max_sessions)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* A control session holds two sockets, a transfer four more. */
	if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)max_sessions * 2 + 64 > rl.rlim_cur)
		log_msg(LL_WARN, "max-sessions %u needs more descriptors than the limit of %llu allows",
		    max_sessions, (unsigned long long)rl.rlim_cur);
}

int
main(int argc, char *argv[])
{
	const char *path = FTPGW_CONF;
	bool foreground = false, debug = false, check_only = false;
	bool rules = false, iptables = false;
	struct event_base *base;
	struct gateway gw;
	struct config *cf;
	int ch;

	while ((ch = getopt(argc, argv, "c:fdtRiV")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'f':
			foreground = true;
			break;
		case 'd':
			debug = foreground = true;
			break;
		case 't':
			check_only = true;
			break;
		case 'R':
			rules = true;
			break;
		case 'i':
			iptables = true;
			break;
		case 'V':
			printf("ftpgw %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc || (iptables && !rules))
		usage();

	cf = config_load(path, stderr);
	if (rules) {
		if (cf == NULL)
			return 1;
		if (fwrules_write(stdout, cf, iptables ? FWRULES_IPTABLES :
		    FWRULES_NFT) == -1) {
			fprintf(stderr, "ftpgw: cannot write the rules: %s\n",
			    strerror(errno));
			config_unref(cf);
			return 1;
		}
		config_unref(cf);
		return 0;
	}
	if (check_only) {
		if (cf == NULL)
			return 1;
		if (cf->tls.enabled) {
			struct tls_engine *tls = tls_engine_new(&cf->tls, path, stderr);

			if (tls == NULL) {
				config_unref(cf);
				return 1;
			}
			tls_engine_unref(tls);
		}
		printf("%s: configuration OK\n", path);
		config_unref(cf);
		return 0;
	}
	if (cf == NULL)
		return 1;

	log_init("ftpgw", true, debug ? LL_DEBUG : cf->log_level);
	event_set_log_callback(libevent_log_cb);
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit(cf->max_sessions);
	if (cf->user == NULL && getuid() == 0)
		log_msg(LL_WARN, "running as root: set 'user' (or run under systemd with User=) to drop it");

	base = event_base_new();
	if (base == NULL)
		fatal("cannot create the event loop");
	if (gateway_init(&gw, base, cf, 0, 1) == -1) {
		gateway_free(&gw);
		event_base_free(base);
		config_unref(cf);
		return 1;
	}
	/* Bound: root is no longer needed, only what the modes use. */
	if (cf->user != NULL) {
		uint64_t caps = priv_caps_needed(cf);

		if (priv_drop(cf->user, caps) == -1) {
			gateway_free(&gw);
			event_base_free(base);
			config_unref(cf);
			return 1;
		}
		log_msg(LL_INFO, "running as user \"%s\" (uid %u) with capabilities%s%s",
		    cf->user, (unsigned)getuid(),
		    caps & (1ULL << CAP_NET_ADMIN) ? " CAP_NET_ADMIN" : "",
		    caps & (1ULL << CAP_NET_BIND_SERVICE) ? " CAP_NET_BIND_SERVICE" : caps ? "" : " (none)");
	}
	config_unref(cf);                /* the gateway holds its own reference */
	if (!foreground) {
		if (daemon(0, 0) == -1)
			fatal("daemon: %s", strerror(errno));
		log_set_facility(gw.cf->log_facility);
		log_init("ftpgw", false, gw.cf->log_level);
		/* epoll survives fork, but reinit keeps libevent's state honest. */
		event_reinit(base);
	}
	log_msg(LL_INFO, "ftpgw %s started with %s", PACKAGE_VERSION, path);
	notify_systemd("READY=1");
	event_base_dispatch(base);
	log_msg(LL_INFO, "ftpgw stopped");
	gateway_free(&gw);
	event_base_free(base);
	return 0;
}
