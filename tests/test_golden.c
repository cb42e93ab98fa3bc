/* Every golden case (shared/golden, computed by the paper authors' code) on each backend. */
#include "golden_case.h"
#include "testutil.h"

#include <criterion/criterion.h>
#include <math.h>

static void run_all(seattn_context *ctx, double tol) {
    char **dirs = NULL;
    int n = golden_find(SEATTN_GOLDEN_DIR, &dirs);
    cr_assert_gt(n, 0, "no golden cases under %s", SEATTN_GOLDEN_DIR);
    for (int i = 0; i < n; i++) {
        golden_case c;
        char err[512];
        cr_assert_eq(golden_case_load(dirs[i], &c, err, sizeof err), 0, "%s: %s", dirs[i], err);
        double e = INFINITY;
        seattn_status s = golden_case_run(ctx, &c, &e);
        cr_expect_eq(s, SEATTN_SUCCESS, "%s: %s", c.name, seattn_context_last_error(ctx));
        cr_expect(e <= tol, "%s: max abs error %.3e > %.0e", c.name, e, tol);
        golden_case_free(&c);
    }
    golden_dirs_free(dirs, n);
}

Test(golden, cpu_reference_within_1e5) {
    seattn_context *ctx = tu_cpu();
    run_all(ctx, 1e-5);
    seattn_context_destroy(ctx);
}

Test(golden, vulkan_within_1e4, .timeout = 600) {
    seattn_context *ctx = tu_vulkan();
    run_all(ctx, 1e-4);
    tu_finish(ctx);
}
