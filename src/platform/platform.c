/* The system's side of src/platform.h: POSIX, or Windows (mingw-w64 and MSVC). */
#if !defined(_WIN32)
#    define _POSIX_C_SOURCE 200809L /* clock_gettime, getpid, mkstemp, fdopen, popen, ... */
#endif
#include "platform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(_WIN32)
#    define WIN32_LEAN_AND_MEAN
#    include <io.h>
#    include <windows.h>

_Static_assert(sizeof(seattn__once) == sizeof(INIT_ONCE), "seattn__once must be an INIT_ONCE");

static BOOL CALLBACK once_trampoline(PINIT_ONCE once, PVOID fn, PVOID *ctx) {
    (void)once;
    (void)ctx;
    void (*f)(void);
    memcpy(&f, &fn, sizeof f); /* a function pointer through void *, as Windows passes it */
    f();
    return TRUE;
}

void seattn__run_once(seattn__once *flag, void (*fn)(void)) {
    void *arg;
    memcpy(&arg, &fn, sizeof arg);
    InitOnceExecuteOnce((PINIT_ONCE)flag, once_trampoline, arg, NULL);
}

double seattn__now_ms(void) {
    static LARGE_INTEGER freq; /* constant for the system's life; a race writes the same value */
    LARGE_INTEGER now;
    if (freq.QuadPart == 0) QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&now);
    return (double)now.QuadPart * 1e3 / (double)freq.QuadPart;
}

long seattn__process_id(void) {
    return (long)GetCurrentProcessId();
}

bool seattn__replace_file(const char *from, const char *to) {
    return MoveFileExA(from, to, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH) != 0;
}

const char *seattn__temp_dir(void) {
    const char *d = getenv("TEMP");
    if (!d || !*d) d = getenv("TMP");
    return d && *d ? d : ".";
}

FILE *seattn__temp_file(char *path, size_t n, const char *prefix) {
    /* GetTempFileName creates the file, its name unique in the folder */
    char name[MAX_PATH];
    if (GetTempFileNameA(seattn__temp_dir(), prefix, 0, name) == 0) return NULL;
    if (strlen(name) >= n) {
        DeleteFileA(name);
        return NULL;
    }
    memcpy(path, name, strlen(name) + 1);
    return fopen(path, "w");
}

FILE *seattn__pipe_to(const char *cmd) {
    return _popen(cmd, "w");
}

int seattn__pipe_close(FILE *f) {
    return _pclose(f);
}

bool seattn__stderr_is_terminal(void) {
    return _isatty(_fileno(stderr)) != 0;
}

void seattn__host_name(char *name, size_t n) {
    DWORD len = n > MAX_COMPUTERNAME_LENGTH + 1 ? MAX_COMPUTERNAME_LENGTH + 1 : (DWORD)n;
    if (n && !GetComputerNameA(name, &len)) name[0] = '\0';
}

int seattn__cpu_threads(void) {
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    return (int)si.dwNumberOfProcessors;
}

bool seattn__set_env(const char *name, const char *value) {
    return _putenv_s(name, value ? value : "") == 0; /* "" removes it */
}

int seattn__path_kind(const char *path) {
    const DWORD a = GetFileAttributesA(path);
    if (a == INVALID_FILE_ATTRIBUTES) return 0;
    return a & FILE_ATTRIBUTE_DIRECTORY ? 2 : 1;
}

int seattn__list_dir(const char *dir, int (*fn)(const char *name, void *arg), void *arg) {
    char pattern[MAX_PATH];
    if (snprintf(pattern, sizeof pattern, "%s\\*", dir) >= (int)sizeof pattern) return -1;
    WIN32_FIND_DATAA e;
    HANDLE h = FindFirstFileA(pattern, &e);
    if (h == INVALID_HANDLE_VALUE) return -1;
    int rc = 0;
    do {
        if (e.cFileName[0] != '.') rc = fn(e.cFileName, arg);
    } while (rc == 0 && FindNextFileA(h, &e));
    FindClose(h);
    return rc;
}

#else
#    include <dirent.h>
#    include <sys/stat.h>
#    include <time.h>
#    include <unistd.h>

void seattn__run_once(seattn__once *flag, void (*fn)(void)) {
    pthread_once(flag, fn);
}

double seattn__now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

long seattn__process_id(void) {
    return (long)getpid();
}

bool seattn__replace_file(const char *from, const char *to) {
    return rename(from, to) == 0;
}

const char *seattn__temp_dir(void) {
    const char *d = getenv("TMPDIR");
    return d && *d ? d : "/tmp";
}

FILE *seattn__temp_file(char *path, size_t n, const char *prefix) {
    if (snprintf(path, n, "%s/%s-XXXXXX", seattn__temp_dir(), prefix) >= (int)n) return NULL;
    const int fd = mkstemp(path);
    if (fd < 0) return NULL;
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        remove(path);
    }
    return f;
}

FILE *seattn__pipe_to(const char *cmd) {
    return popen(cmd, "w");
}

int seattn__pipe_close(FILE *f) {
    return pclose(f);
}

bool seattn__stderr_is_terminal(void) {
    return isatty(STDERR_FILENO) != 0;
}

void seattn__host_name(char *name, size_t n) {
    if (!n) return;
    if (gethostname(name, n) != 0) name[0] = '\0';
    name[n - 1] = '\0'; /* POSIX leaves a truncated name unterminated */
}

int seattn__cpu_threads(void) {
    return (int)sysconf(_SC_NPROCESSORS_ONLN);
}

bool seattn__set_env(const char *name, const char *value) {
    return (value ? setenv(name, value, 1) : unsetenv(name)) == 0;
}

int seattn__path_kind(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) return 0;
    return S_ISREG(st.st_mode) ? 1 : S_ISDIR(st.st_mode) ? 2 : 0;
}

int seattn__list_dir(const char *dir, int (*fn)(const char *name, void *arg), void *arg) {
    DIR *dp = opendir(dir);
    if (!dp) return -1;
    const struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(dp)))
        if (e->d_name[0] != '.') rc = fn(e->d_name, arg);
    closedir(dp);
    return rc;
}
#endif
