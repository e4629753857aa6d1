#include "names.h"

#include <ctype.h>
#include <string.h>

int
names_valid_slug(const char *s)
{
	size_t len;

	if (s == NULL)
		return 0;
	len = strlen(s);
	if (len == 0 || len > NAMES_SLUG_MAX || s[0] == '-' || s[len - 1] == '-')
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '-') {
			if (s[i + 1] == '-')
				return 0;
		} else if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9'))) {
			return 0;
		}
	}
	return 1;
}

int
names_valid_uuid(const char *s)
{
	if (s == NULL || strlen(s) != 36)
		return 0;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!isxdigit((unsigned char)s[i])) {
			return 0;
		}
	}
	return 1;
}
