/* An app that has its own volk (its vkCreateInstance... globals) and links libseattn.a: the
 * link succeeds only if the archive's copy of volk is hidden, and both loaders then work. */
#include <seattn/seattn.h>
#include <stdio.h>
#include <volk.h>

int main(void) {
    const VkResult r = volkInitialize(); /* the app's volk */
    seattn_context_options o = {0};
    o.backend = SEATTN_BACKEND_CPU;
    seattn_context *ctx = NULL;
    const seattn_status s = seattn_context_create(&o, &ctx);
    printf("static consumer: app volk %s, seattn %s\n", r == VK_SUCCESS ? "loaded" : "no loader",
           s == SEATTN_SUCCESS ? "ok" : "failed");
    seattn_context_destroy(ctx);
    return s == SEATTN_SUCCESS && vkCreateInstance != NULL ? 0 : 1;
}
