/* priv.c: see priv.h. The order matters: with PR_SET_KEEPCAPS, setuid()
 * keeps the permitted set but clears the effective one, so capset() must
 * raise them again afterwards. */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/capability.h>

#include "conf.h"
#include "data_path.h"
#include "priv.h"

uint64_t
priv_caps_needed(const struct config *cf)
{
	uint64_t caps = 0;

	/* nftables mappings and NFLOG: netlink that needs CAP_NET_ADMIN. */
	if (data_path_config_wants(cf))
		caps |= 1ULL << CAP_NET_ADMIN;

	for (size_t i = 0; i < cf->n_listens; i++) {
		const struct listen_conf *lc = &cf->listens[i];

		if (lc->mode == MODE_TPROXY)
			caps |= 1ULL << CAP_NET_ADMIN;
		if (addr_port((const struct sockaddr *)&lc->addr) < 1024 || lc->pasv_lo < 1024)
			caps |= 1ULL << CAP_NET_BIND_SERVICE;
	}
	return caps;
}

/* No execve() may ever grant more (setuid binaries, file capabilities). */
static int
no_new_privs(void)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) == -1) {
		fprintf(stderr, "ftpgw: PR_SET_NO_NEW_PRIVS: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

int
priv_drop(const char *user, uint64_t keep)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	struct passwd *pw;

	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		fprintf(stderr, "ftpgw: user \"%s\": %s\n", user,
		    errno ? strerror(errno) : "no such user");
		return -1;
	}
	if (getuid() != 0) {
		if (getuid() == pw->pw_uid)
			return no_new_privs();   /* started as that user (systemd User=) */
		fprintf(stderr, "ftpgw: user \"%s\": only root can switch users\n", user);
		return -1;
	}
	/* While root (CAP_SETPCAP): the bounding set keeps only KEEP, so
	 * nothing executed later could regain more. */
	for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
		if (!((keep >> cap) & 1) && prctl(PR_CAPBSET_DROP, (long)cap, 0L, 0L, 0L) == -1 &&
		    errno != EINVAL) {
			fprintf(stderr, "ftpgw: dropping capability %d from the bounding set: %s\n",
			    cap, strerror(errno));
			return -1;
		}
	if (prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L) == -1 ||
	    setgroups(1, &pw->pw_gid) == -1 || setgid(pw->pw_gid) == -1 ||
	    setuid(pw->pw_uid) == -1) {
		fprintf(stderr, "ftpgw: switching to user \"%s\": %s\n", user, strerror(errno));
		return -1;
	}
	memset(data, 0, sizeof(data));
	data[0].effective = data[0].permitted = (uint32_t)keep;
	data[1].effective = data[1].permitted = (uint32_t)(keep >> 32);
	if (syscall(SYS_capset, &hdr, data) == -1) {
		fprintf(stderr, "ftpgw: keeping capabilities as \"%s\": %s\n", user, strerror(errno));
		return -1;
	}
	(void)prctl(PR_SET_KEEPCAPS, 0L, 0L, 0L, 0L);
	if (setuid(0) != -1) {
		fprintf(stderr, "ftpgw: could become root again after dropping it\n");
		return -1;
	}
	return no_new_privs();
}

bool
priv_has_cap(int cap)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	if (cap < 0 || cap >= 64 || syscall(SYS_capget, &hdr, data) == -1)
		return false;
	return (data[cap / 32].effective >> (cap % 32)) & 1;
}
