/* Whole-file reads for the program's loaders (golden cases, the passkey model). */
#ifndef SEATTN_FILE_UTIL_H
#define SEATTN_FILE_UTIL_H

#include <stddef.h>

/* The file's bytes plus a terminating NUL (malloc'd; the caller frees), its size in *len; NULL
 * if it cannot be opened or read. */
char *cli_read_file(const char *path, size_t *len);

#endif
