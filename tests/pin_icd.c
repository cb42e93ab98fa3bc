/* Linked into every test program of the sanitizer build (SEATTN_SANITIZE): keeps the Vulkan
 * driver the tests use loaded for the life of the process.
 *
 * Why: lavapipe (Mesa 22.3) keeps a realloc'd block in a global of libvulkan_lvp.so and never
 * frees it. While the driver is mapped that block is reachable from the driver's globals and
 * LeakSanitizer says nothing; but the loader unloads the driver at vkDestroyInstance, and at
 * exit LeakSanitizer then reports the block as a leak of "<unknown module>", a report that no
 * suppression can name. Pinning the driver (RTLD_NODELETE) keeps its globals as roots, so the
 * driver's own bookkeeping is not reported while every leak of seattn's, whose allocation stack
 * runs through seattn's code, still is. Nothing is suppressed. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The "library_path" string of a Vulkan ICD manifest, resolved against the manifest's folder
 * when relative (as the loader does). Writes "" if the file has none. */
static void manifest_library(const char *manifest, char *out, size_t size) {
    out[0] = '\0';
    FILE *f = fopen(manifest, "rb");
    if (!f) return;
    char text[4096];
    const size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    const char *p = strstr(text, "\"library_path\"");
    if (!p || !(p = strchr(p + 14, ':')) || !(p = strchr(p, '"'))) return;
    const char *end = strchr(++p, '"');
    if (!end) return;
    const int len = (int)(end - p);
    const char *slash = strrchr(manifest, '/');
    if (p[0] != '/' && memchr(p, '/', (size_t)len) && slash) /* relative to the manifest */
        snprintf(out, size, "%.*s/%.*s", (int)(slash - manifest), manifest, len, p);
    else /* absolute, or a bare name the loader looks up like dlopen does */
        snprintf(out, size, "%.*s", len, p);
}

__attribute__((constructor)) static void pin_vulkan_driver(void) {
    const char *files = getenv("VK_DRIVER_FILES");
    if (!files || !*files) files = getenv("VK_ICD_FILENAMES");
    if (!files || !*files) return;
    char manifest[4096];
    snprintf(manifest, sizeof manifest, "%.*s", (int)strcspn(files, ":"), files);
    char lib[4096];
    manifest_library(manifest, lib, sizeof lib);
    if (lib[0] && !dlopen(lib, RTLD_NOW | RTLD_NODELETE))
        fprintf(stderr, "pin_icd: could not keep %s loaded: %s\n", lib, dlerror());
}
