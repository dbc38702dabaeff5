/*
 * pz_common.c — status names for the pure-C core.
 */
#include "pz_common.h"

const char *
pz_status_name(pz_status status)
{
	switch (status)
	{
		case PZ_OK:
			return "ok";
		case PZ_EINVAL:
			return "invalid argument";
		case PZ_ENOMEM:
			return "out of memory or size limit exceeded";
		case PZ_ENOCONV:
			return "no convergence";
		case PZ_ENUMERIC:
			return "numerical failure";
		case PZ_ECANCELLED:
			return "cancelled";
		case PZ_ECORRUPT:
			return "corrupt data";
		case PZ_EVERSION:
			return "unsupported format version";
	}
	return "unknown status";
}
