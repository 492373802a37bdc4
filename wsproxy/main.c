// SPDX-License-Identifier: GPL-3.0-or-later
/* main.c - the meshvpn-wsproxy binary: the same proxy as "meshvpn ws-proxy". */
#include "wsproxy.h"

int main(int argc, char **argv)
{
	return wsproxy_main(argc, argv);
}
