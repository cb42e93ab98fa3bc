/* What C11 leaves to the system, in one place with a branch for each (POSIX; Windows): a
 * one-time initialisation, a monotonic clock, the process id, replacing a file whole, and for
 * the program a temporary file, a pipe to another program and whether stderr is a terminal.
 * The library, the program and the benchmark use these and nothing of the system's own, so
 * that gcc, clang, mingw-w64 and MSVC build every other file unchanged. (The library's copy is
 * hidden; the program links its own, the static library seattn_platform.) */
#ifndef SEATTN_PLATFORM_H
#define SEATTN_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#if defined(_WIN32)
/* the layout of Windows' INIT_ONCE (a union of one pointer), without windows.h here */
typedef struct {
    void *ptr;
} seattn__once;
// clang-format off
#    define SEATTN__ONCE_INIT {0}
// clang-format on
#else
#    include <pthread.h>
typedef pthread_once_t seattn__once;
#    define SEATTN__ONCE_INIT PTHREAD_ONCE_INIT
#endif

/* printf-style arguments checked by the compiler: C99's set (mingw-w64 is built with
 * __USE_MINGW_ANSI_STDIO, whose printf is gnu_printf, not msvcrt's) */
#if defined(__MINGW32__)
#    define SEATTN__PRINTF(fmt, args) __attribute__((format(gnu_printf, fmt, args)))
#elif defined(__GNUC__)
#    define SEATTN__PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#    define SEATTN__PRINTF(fmt, args)
#endif

/* Runs fn once per flag, whichever thread comes first; the others wait until it returned. */
void seattn__run_once(seattn__once *flag, void (*fn)(void));

/* Milliseconds on a monotonic clock (an arbitrary origin). */
double seattn__now_ms(void);

/* This process's id (for names of temporary files). */
long seattn__process_id(void);

/* Replaces `to` by `from` whole, as one step where the system can (rename() on POSIX; on
 * Windows rename() fails when `to` exists, so MoveFileEx with MOVEFILE_REPLACE_EXISTING).
 * Returns false if it could not. */
bool seattn__replace_file(const char *from, const char *to);

/* The folder for temporary files: $TMPDIR or /tmp (POSIX), %TEMP% or %TMP% or . (Windows). */
const char *seattn__temp_dir(void);

/* A new file in seattn__temp_dir(), opened for writing ("w"), its name made unique by the
 * system; its path in path[n]. NULL if none could be made. */
FILE *seattn__temp_file(char *path, size_t n, const char *prefix);

/* popen(cmd, "w") and pclose(): a pipe to a program's standard input. */
FILE *seattn__pipe_to(const char *cmd);
int seattn__pipe_close(FILE *f);

/* Whether stderr is a terminal (progress lines are drawn only there). */
bool seattn__stderr_is_terminal(void);

/* This machine's name (empty if unknown) and how many hardware threads it has online. */
void seattn__host_name(char *name, size_t n);
int seattn__cpu_threads(void);

/* Sets (value not NULL) or removes an environment variable of this process. */
bool seattn__set_env(const char *name, const char *value);

/* What path names: 0 nothing (or unreadable), 1 a regular file, 2 a folder. */
int seattn__path_kind(const char *path);

/* Calls fn(name, arg) for each entry of folder dir whose name does not start with '.', in the
 * system's order, until fn returns nonzero (which it returns). -1 if dir cannot be read. */
int seattn__list_dir(const char *dir, int (*fn)(const char *name, void *arg), void *arg);

#endif
