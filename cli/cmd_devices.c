/* seattn devices and seattn kernels: the Vulkan devices with the limits and features the kernels
 * depend on, and the kernel table with what each device runs. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *type_name(int32_t t) {
    static const char *names[] = {"other", "integrated GPU", "discrete GPU", "virtual GPU", "CPU"};
    return t >= 0 && t <= 4 ? names[t] : "unknown";
}

void cli_print_device(const seattn_device_info *d) {
    printf("  type %s, Vulkan %u.%u.%u, vendor 0x%04x device 0x%04x\n", type_name(d->type),
           d->api_version >> 22, (d->api_version >> 12) & 0x3ff, d->api_version & 0xfff,
           d->vendor_id, d->device_id);
    if (d->driver[0]) printf("  driver %s\n", d->driver);
    printf("  maxStorageBufferRange %u, shared memory %u B, workgroup invocations %u\n",
           d->max_storage_buffer_range, d->max_compute_shared_memory, d->max_workgroup_invocations);
    printf("  workgroup count %u x %u x %u, maxTexelBufferElements %u\n", d->max_workgroup_count[0],
           d->max_workgroup_count[1], d->max_workgroup_count[2], d->max_texel_buffer_elements);
    printf("  subgroup size %u (ops 0x%x), 16-bit storage %s, shaderFloat16 %s\n", d->subgroup_size,
           d->subgroup_ops, d->storage_16bit ? "yes" : "no", d->shader_float16 ? "yes" : "no");
    printf("  timestamps %s (%.3g ns/tick), device-local memory %.1f GiB\n",
           d->timestamp_period_ns > 0 ? "yes" : "no", (double)d->timestamp_period_ns,
           (double)d->device_local_bytes / (1024.0 * 1024.0 * 1024.0));
}

int cmd_devices(int argc, char **argv) {
    (void)argc;
    (void)argv;
    uint32_t n = 0;
    seattn_status s = seattn_device_list(NULL, &n);
    if (s != SEATTN_SUCCESS) {
        fprintf(stderr,
                "seattn devices: %s (is a Vulkan driver installed? on Debian: "
                "apt-get install mesa-vulkan-drivers)\n",
                seattn_status_string(s));
        return 1;
    }
    seattn_device_info *infos = calloc(n, sizeof *infos);
    if (!infos) return 1;
    s = seattn_device_list(infos, &n);
    seattn_context *ctx = NULL;
    seattn_device_info chosen = {0};
    if (seattn_context_create(NULL, &ctx) == SEATTN_SUCCESS) {
        seattn_context_device_info(ctx, &chosen);
        seattn_context_destroy(ctx);
    }
    for (uint32_t i = 0; s == SEATTN_SUCCESS && i < n; i++) {
        const int is_default = chosen.name[0] && chosen.index == i;
        printf("%u: %s%s\n", i, infos[i].name, is_default ? "  [default]" : "");
        cli_print_device(&infos[i]);
    }
    free(infos);
    return s == SEATTN_SUCCESS ? 0 : 1;
}

/* seattn kernels [--device N|NAME]: the kernel table, and which kernels the device can run. */
int cmd_kernels(int argc, char **argv) {
    const char *device = "";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--device") == 0 && i + 1 < argc)
            device = argv[++i];
        else {
            fprintf(stderr, "usage: seattn kernels [--device N|NAME]\n");
            return 2;
        }
    }
    seattn_context *ctx = NULL;
    if (cli_context(device, 0, NULL, &ctx) != SEATTN_SUCCESS) {
        fprintf(stderr, "seattn kernels: %s\n", seattn_last_create_error());
        return 1;
    }
    seattn_device_info info;
    seattn_context_device_info(ctx, &info);
    printf("device %u: %s\n", info.index, info.name);
    seattn_kernel_info k;
    for (uint32_t i = 0; seattn_context_kernel_info(ctx, i, &k) == SEATTN_SUCCESS; i++) {
        printf("  %-11s %-4s %s\n", k.name, k.available ? "yes" : "no", k.description);
        if (!k.available) printf("  %-11s      (the device %s)\n", "", k.why_not);
    }
    printf("'flash' picks flash_sg where the device has it, else flash_smem. Force one with\n"
           "seattn check/bench --kernel NAME, seattn_context_options.kernel or SEATTN_KERNEL.\n");
    seattn_context_destroy(ctx);
    return 0;
}
