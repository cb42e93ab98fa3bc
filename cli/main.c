/* The seattn program: devices, kernels, check, model, bench (bench/) and passkey. */
#include "bench.h"
#include "cli.h"
#include "passkey.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f,
            "seattn %s: Self-Extend attention on Vulkan\n"
            "usage:\n"
            "  seattn devices               list Vulkan devices and their limits\n"
            "  seattn kernels [--device N|NAME]\n"
            "                               the attention kernels, and which the device runs\n"
            "  seattn check DIR... [--backend cpu|vulkan|N|NAME] [--validation] [--kernel NAME]\n"
            "                               run every golden case under DIR on every backend\n"
            "  seattn model CONFIG.json... [--context N] [--full] [--device N|NAME]\n"
            "                               a model's attention from its config.json: exact on\n"
            "                               the device? how fast at N? (seattn model --help)\n"
            "  seattn bench [--full] [--shape KIND:LEN[:D[:H/KV[:G[:W]]]]] [--device N]\n"
            "               [--all-devices] [--runs N] [--json FILE] [--plot FILE.png|svg]\n"
            "               [--kernel NAME]\n"
            "                               verify, then time Self-Extend against plain and\n"
            "                               two-pass attention (seattn bench --help)\n"
            "  seattn passkey [--se G,W]... [--all] [--backend B] [--plot FILE]\n"
            "                               a tiny RoPE model past its trained length, plain\n"
            "                               and Self-Extend (seattn passkey --help)\n"
            "  seattn version\n",
            seattn_version_string());
}

void cli_log(seattn_log_level level, const char *message, void *user) {
    (void)user;
    if (level >= SEATTN_LOG_WARNING) fprintf(stderr, "seattn: %s\n", message);
}

seattn_status cli_context(const char *backend, uint32_t flags, const char *kernel,
                          seattn_context **ctx) {
    seattn_context_options o = {0};
    o.flags = flags;
    o.log = cli_log;
    if (strcmp(backend, "cpu") == 0)
        o.backend = SEATTN_BACKEND_CPU;
    else {
        if (*backend) o.device = backend;
        o.kernel = kernel;
    }
    return seattn_context_create(&o, ctx);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "devices") == 0) return cmd_devices(argc - 1, argv + 1);
    if (strcmp(cmd, "check") == 0) return cmd_check(argc - 1, argv + 1);
    if (strcmp(cmd, "model") == 0) return cmd_model(argc - 1, argv + 1);
    if (strcmp(cmd, "kernels") == 0) return cmd_kernels(argc - 1, argv + 1);
    if (strcmp(cmd, "bench") == 0) return cmd_bench(argc - 1, argv + 1);
    if (strcmp(cmd, "passkey") == 0) return cmd_passkey(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("seattn %s\n", seattn_version_string());
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "seattn: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
