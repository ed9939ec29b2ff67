/* fuzz_conf.c - libFuzzer target: any bytes through conf_parse, nothing leaks */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf_errors	 errs = { NULL, 0 };
	struct conf		*conf;
	struct conf_cert	*dup;
	struct conf_ca		*cadup;
	size_t			 i;

	conf = conf_parse("fuzz.yaml", (const char *)data, size, &errs);
	/* a result must be whole: exercise the helpers on every entry */
	if (conf != NULL) {
		for (i = 0; i < conf->ncerts; i++) {
			dup = conf_cert_dup(&conf->certs[i]);
			if (!conf_cert_same_order(dup, &conf->certs[i]))
				__builtin_trap();
			conf_cert_free(dup);
			if (conf_cert_find(conf, conf->certs[i].name) == NULL)
				__builtin_trap();
		}
		for (i = 0; i < conf->ncas; i++) {
			cadup = conf_ca_dup(&conf->cas[i]);
			if (!conf_ca_equal(cadup, &conf->cas[i]))
				__builtin_trap();
			conf_ca_free(cadup);
			if (conf_ca_find(conf, conf->cas[i].name) == NULL)
				__builtin_trap();
		}
		if (!conf_http01_equal(&conf->http01, &conf->http01))
			__builtin_trap();
	}
	/* a refusal must say why */
	if (conf == NULL && errs.n == 0)
		__builtin_trap();
	conf_free(conf);
	conf_errors_clear(&errs);
	return 0;
}
