// SPDX-License-Identifier: GPL-3.0-or-later
/* main.c - placeholder until the CLI lands. */
#include <stdio.h>
int main(void)
{
	return 0;
}
