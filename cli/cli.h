/* Subcommands of the seattn program. Each returns the process exit code. */
#ifndef SEATTN_CLI_H
#define SEATTN_CLI_H

#include <seattn/seattn.h>

#include "platform.h"

int cmd_devices(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_model(int argc, char **argv);

/* A context for a backend name: "cpu", or a Vulkan device index or name part ("" = default);
 * kernel (Vulkan only; NULL: the library's choice) forces a kernel. */
seattn_status cli_context(const char *backend, uint32_t flags, const char *kernel,
                          seattn_context **ctx);
int cmd_kernels(int argc, char **argv);
/* Prints log messages of warning level and above to stderr. */
void cli_log(seattn_log_level level, const char *message, void *user);

#endif
