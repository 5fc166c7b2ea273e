/* fuzz_conf.c: libFuzzer target for the configuration loader (the
 * pre-lexer, libconfuse and every validation rule): any input must give a
 * snapshot or a clean refusal, never a crash, a leak or a hang. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *devnull;
	struct config *cf;

	if (devnull == NULL && (devnull = fopen("/dev/null", "w")) == NULL)
		abort();
	cf = config_parse("fuzz.conf", (const char *)data, size, devnull);
	if (cf != NULL) {
		/* A snapshot that loaded must be whole. */
		if (cf->n_listens == 0 || cf->n_maps == 0)
			abort();
		config_unref(cf);
	}
	return 0;
}
