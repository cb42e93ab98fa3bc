/* seattn bench: verify, time, print; optionally JSON and a plot. */
#include "bench.h"

#include <stdlib.h>

int cmd_bench(int argc, char **argv) {
    bench_options o;
    int rc = bench_parse_args(argc, argv, &o, stderr);
    if (rc) return rc;
    bench_run *run = calloc(1, sizeof *run);
    if (!run) return 1;
    rc = bench_execute(&o, run);
    if (run->n_results || run->n_batch) bench_print_table(run, stdout);
    if (!rc && o.json_path && bench_write_json(run, o.json_path)) rc = 1;
    if (!rc && o.plot_path && bench_plot(run, o.plot_path)) rc = 1;
    free(run);
    return rc;
}
