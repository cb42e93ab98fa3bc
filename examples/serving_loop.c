/*
 * A serving engine's loop with seattn: continuous batching over a paged KV cache, one pool per
 * layer.
 *
 * Requests arrive and finish while the engine steps. Each step runs, for every layer, one
 * attention over every live sequence: a new request's whole prompt (prefill) next to the other
 * sequences' next token (decode). Each layer keeps its keys and values in a pool of its own
 * (as vLLM, FlashInfer and ggml do), in pages of PAGE tokens laid out as vLLM's
 * [tokens, kv_heads, head_dim]; a sequence takes pages from a free list as it grows and gives
 * them back when it finishes, so its pages lie anywhere in the pool, the same pages in every
 * layer. Where the device reads buffers by address (VK_KHR_buffer_device_address), each
 * layer's pool is split over CHUNKS buffers, as a pool of many GiB must be (seattn_kv_chunk);
 * elsewhere it is one buffer. The layers' attentions are recorded ONCE into the app's command
 * buffer; every step the app writes the new tokens' queries, keys and values and the batch's
 * metadata (seattn_seq per slot, the block table: shared by the layers) in place, and replays
 * the same command buffer.
 *
 * Everything lives in host-visible memory to keep the example short; an engine would keep the
 * pools in device-local memory and write them from its own kernels.
 *
 * Each step's outputs are checked against seattn's CPU reference run on each sequence alone.
 * Run: serving_loop [--require-validation]. Exit status 0 when every output matches and the
 * validation layer (when present) said nothing.
 */
#include "app_vulkan.h"

#include <math.h>

enum {
    N_LAYERS = 2,
    N_HEADS = 8,
    N_KV = 2,
    D = 64,
    PAGE = 16,                     /* tokens a page */
    N_PAGES = 40,                  /* a layer's pool */
    CHUNKS = 2,                    /* buffers a layer's pool is split over, where it can be */
    SLOTS = 4,                     /* sequences a step at most */
    MAX_Q = 32,                    /* query rows a slot may use in a step (the longest prompt) */
    MAX_KV = 256,                  /* keys a sequence may reach */
    PAGES_PER_SEQ = MAX_KV / PAGE, /* a slot's row of the block table */
    STEPS = 40
};

/* The requests: when each arrives, its prompt and how many tokens it generates. */
static const struct {
    int arrives, prompt, generate;
} requests[] = {{0, 20, 12},  {0, 5, 30},  {2, 32, 6},   {6, 9, 20},
                {10, 17, 16}, {14, 3, 25}, {20, 30, 10}, {25, 11, 12}};
enum { N_REQUESTS = sizeof requests / sizeof requests[0] };

static float value(uint32_t seq, uint32_t token, uint32_t i) { /* deterministic data */
    uint32_t x = seq * 7919u + token * 104729u + i * 31u + 17u;
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    return (float)(x >> 8) / 8388608.0f - 1.0f;
}

int main(int argc, char **argv) {
    app_name = "serving_loop";
    app_vulkan a;
    const int require_validation = argc > 1 && strcmp(argv[1], "--require-validation") == 0;
    if (app_vulkan_create(
            &a, require_validation ? APP_VALIDATION_REQUIRED : APP_VALIDATION_IF_INSTALLED, 1) != 0)
        return 1;
    seattn_vulkan_device import = app_vulkan_import(&a);
    seattn_context *ctx = NULL, *cpu = NULL;
    CHECK_SEATTN(ctx, seattn_context_create_vulkan(NULL, &import, &ctx));
    seattn_context_options cpu_opts = {.backend = SEATTN_BACKEND_CPU};
    CHECK_SEATTN(cpu, seattn_context_create(&cpu_opts, &cpu));

    /* The engine's buffers: each layer's queries and outputs of SLOTS x MAX_Q rows, [heads,
     * rows, D]; the per-slot sequences and the block table, which every layer reads; and each
     * layer's K and V pools of N_PAGES * PAGE tokens, [tokens, N_KV, D], in n_chunks buffers.
     * TRANSFER_SRC: seattn copies the batch's metadata into a binding of its own; chunks are
     * read by address. */
    const uint32_t n_chunks = a.bda ? CHUNKS : 1, chunk_tokens = N_PAGES * PAGE / n_chunks;
    const size_t q_n = (size_t)N_HEADS * SLOTS * MAX_Q * D,
                 chunk_n = (size_t)chunk_tokens * N_KV * D;
    const VkBufferUsageFlags use = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
                                   VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT |
                                   VK_BUFFER_USAGE_TRANSFER_SRC_BIT;
    const VkBufferUsageFlags pool_use =
        use | (a.bda ? VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT_KHR : 0);
    app_buffer buf =
        app_buffer_create(&a, (2 * N_LAYERS * q_n + 5 * SLOTS + SLOTS * PAGES_PER_SEQ) * 4, use, 1);
    float *q[N_LAYERS], *out[N_LAYERS];
    for (int l = 0; l < N_LAYERS; l++)
        q[l] = (float *)buf.mapped + 2 * l * q_n, out[l] = q[l] + q_n;
    seattn_seq *seqs = (seattn_seq *)((float *)buf.mapped + 2 * N_LAYERS * q_n);
    uint32_t *table = (uint32_t *)(seqs + SLOTS);
    seattn_tensor *tq[N_LAYERS], *to[N_LAYERS], *ts, *tt;
    for (int l = 0; l < N_LAYERS; l++) {
        CHECK_SEATTN(
            ctx, seattn_tensor_wrap_vulkan(ctx, buf.buffer, 2 * l * q_n * 4, q_n * 4, use, &tq[l]));
        CHECK_SEATTN(ctx, seattn_tensor_wrap_vulkan(ctx, buf.buffer, (2 * l + 1) * q_n * 4, q_n * 4,
                                                    use, &to[l]));
    }
    CHECK_SEATTN(ctx, seattn_tensor_wrap_vulkan(ctx, buf.buffer, 2 * N_LAYERS * q_n * 4,
                                                sizeof(seattn_seq) * SLOTS, use, &ts));
    CHECK_SEATTN(ctx, seattn_tensor_wrap_vulkan(ctx, buf.buffer,
                                                2 * N_LAYERS * q_n * 4 + sizeof(seattn_seq) * SLOTS,
                                                SLOTS * PAGES_PER_SEQ * 4, use, &tt));
    app_buffer pool[N_LAYERS][CHUNKS][2];
    float *kv[N_LAYERS][CHUNKS][2];
    seattn_tensor *tkv[N_LAYERS][CHUNKS][2];
    seattn_kv_chunk chunks[N_LAYERS][CHUNKS];
    for (int l = 0; l < N_LAYERS; l++)
        for (uint32_t c = 0; c < n_chunks; c++) {
            for (int w = 0; w < 2; w++) { /* K, V */
                pool[l][c][w] = app_buffer_create(&a, chunk_n * 4, pool_use, 1);
                kv[l][c][w] = pool[l][c][w].mapped;
                CHECK_SEATTN(ctx, seattn_tensor_wrap_vulkan(ctx, pool[l][c][w].buffer, 0,
                                                            chunk_n * 4, pool_use, &tkv[l][c][w]));
            }
            chunks[l][c] =
                (seattn_kv_chunk){tkv[l][c][0], tkv[l][c][1], c * chunk_tokens, chunk_tokens};
        }

    /* The attention every layer runs: Self-Extend G 4, W 32, over its paged pool laid out
     * [tokens, N_KV, D] (with chunks, the layout inside each chunk: their default). */
    const seattn_attention_desc desc = {.n_heads = N_HEADS,
                                        .n_kv_heads = N_KV,
                                        .head_dim = D,
                                        .group_size = 4,
                                        .neighbor_window = 32,
                                        .k_strides = {D, N_KV * D},
                                        .v_strides = {D, N_KV * D}};
    const seattn_batch_desc batch = {.n_seqs = SLOTS,
                                     .max_q_len = MAX_Q,
                                     .max_kv_len = MAX_KV,
                                     .q_tokens = SLOTS * MAX_Q,
                                     .kv_tokens = N_PAGES * PAGE,
                                     .page_size = PAGE,
                                     .block_table_len = SLOTS * PAGES_PER_SEQ};
    seattn_attention_tensors tensors[N_LAYERS];
    for (int l = 0; l < N_LAYERS; l++) {
        tensors[l] = (seattn_attention_tensors){.q = tq[l], .out = to[l]};
        if (n_chunks > 1) {
            tensors[l].kv_chunks = chunks[l];
            tensors[l].n_kv_chunks = n_chunks;
        } else {
            tensors[l].k = tkv[l][0][0];
            tensors[l].v = tkv[l][0][1];
        }
    }

    /* Recorded once: host writes -> every layer's attention -> host reads. */
    VkCommandBuffer cb = app_begin(&a); /* from the app's command pool */
    app_barrier(cb, VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_WRITE_BIT,
                VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
    for (int l = 0; l < N_LAYERS; l++)
        CHECK_SEATTN(ctx,
                     seattn_attention_batch_record(ctx, cb, &desc, &batch, &tensors[l], ts, tt));
    app_barrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
    CHECK_VK(vkEndCommandBuffer(cb));
    seattn_call_stats stats;
    seattn_context_last_call(ctx, &stats);
    printf("serving_loop: device '%s', %d layers recorded once, a pool of %u buffer%s each: %u "
           "dispatches a layer (%s)\n",
           a.props.deviceName, N_LAYERS, n_chunks, n_chunks > 1 ? "s" : "", stats.dispatches,
           stats.kernel);

    /* The engine's state: a request per slot (-1: free), its length, its pages. */
    int slot_req[SLOTS], next_req = 0;
    uint32_t len[SLOTS] = {0}, free_list[N_PAGES], n_free = N_PAGES;
    for (int s = 0; s < SLOTS; s++)
        slot_req[s] = -1;
    for (uint32_t p = 0; p < N_PAGES; p++) /* handed out from the end: not in order */
        free_list[p] = (p * 17u) % N_PAGES;
    double worst = 0.0;
    int served = 0, calls = 0;
    float *sq = malloc(sizeof(float) * N_HEADS * MAX_Q * D),
          *ref = malloc(sizeof(float) * N_HEADS * MAX_Q * D);
    float *sk = malloc(sizeof(float) * N_KV * MAX_KV * D),
          *sv = malloc(sizeof(float) * N_KV * MAX_KV * D);
    seattn_tensor *cq, *ck, *cv, *co;
    CHECK_SEATTN(cpu, seattn_tensor_create(cpu, sizeof(float) * N_HEADS * MAX_Q * D, &cq));
    CHECK_SEATTN(cpu, seattn_tensor_create(cpu, sizeof(float) * N_KV * MAX_KV * D, &ck));
    CHECK_SEATTN(cpu, seattn_tensor_create(cpu, sizeof(float) * N_KV * MAX_KV * D, &cv));
    CHECK_SEATTN(cpu, seattn_tensor_create(cpu, sizeof(float) * N_HEADS * MAX_Q * D, &co));

    for (int step = 0; step < STEPS; step++) {
        /* admit arrived requests into free slots, if the pool has pages for their prompt */
        for (int s = 0; s < SLOTS && next_req < N_REQUESTS; s++) {
            const uint32_t need = (requests[next_req].prompt + PAGE - 1) / PAGE;
            if (slot_req[s] >= 0 || requests[next_req].arrives > step || need > n_free) continue;
            slot_req[s] = next_req++;
            len[s] = 0;
        }
        /* this step's tokens: a prompt whole, else one generated token; every layer's own
         * values at the same pool token */
        for (int s = 0; s < SLOTS; s++) {
            const int r = slot_req[s];
            const uint32_t n = r < 0 ? 0 : len[s] == 0 ? (uint32_t)requests[r].prompt : 1;
            for (uint32_t t = len[s]; t < len[s] + n; t++) {
                if (t % PAGE == 0) { /* a new page from the free list */
                    if (n_free == 0) {
                        fprintf(stderr, "serving_loop: out of pages\n");
                        return 1;
                    }
                    table[s * PAGES_PER_SEQ + t / PAGE] = free_list[--n_free];
                }
                const uint32_t tok = table[s * PAGES_PER_SEQ + t / PAGE] * PAGE + t % PAGE;
                const uint32_t c = tok / chunk_tokens, local = tok % chunk_tokens;
                for (int l = 0; l < N_LAYERS; l++) {
                    const uint32_t id = (uint32_t)r + 100u * (uint32_t)l;
                    for (uint32_t h = 0; h < N_KV; h++)
                        for (uint32_t i = 0; i < D; i++) {
                            const size_t at = ((size_t)local * N_KV + h) * D + i;
                            kv[l][c][0][at] = value(id, t, i + h * D);
                            kv[l][c][1][at] = value(id, t, i + 999 + h * D);
                        }
                    for (uint32_t h = 0; h < N_HEADS; h++)
                        for (uint32_t i = 0; i < D; i++)
                            q[l][((size_t)h * SLOTS * MAX_Q + s * MAX_Q + (t - len[s])) * D + i] =
                                value(id, t, i + 5000 + h * D);
                }
            }
            seqs[s] = (seattn_seq){.q_start = s * MAX_Q,
                                   .q_len = n,
                                   .q_pos = len[s],
                                   .kv_len = len[s] + n,
                                   .kv_start = s * PAGES_PER_SEQ};
        }
        app_submit_wait(&a, cb); /* the one recorded command buffer, replayed */
        calls++;

        /* check each live sequence of each layer against the CPU reference on it alone */
        for (int l = 0; l < N_LAYERS; l++)
            for (int s = 0; s < SLOTS; s++) {
                const seattn_seq *m = &seqs[s];
                if (m->q_len == 0) continue;
                for (uint32_t h = 0; h < N_HEADS; h++)
                    memcpy(sq + (size_t)h * m->q_len * D,
                           q[l] + ((size_t)h * SLOTS * MAX_Q + m->q_start) * D,
                           sizeof(float) * m->q_len * D);
                for (uint32_t h = 0; h < N_KV; h++)
                    for (uint32_t j = 0; j < m->kv_len; j++) {
                        const uint32_t tok = table[m->kv_start + j / PAGE] * PAGE + j % PAGE;
                        const size_t at = ((size_t)(tok % chunk_tokens) * N_KV + h) * D;
                        memcpy(sk + ((size_t)h * m->kv_len + j) * D,
                               kv[l][tok / chunk_tokens][0] + at, D * 4);
                        memcpy(sv + ((size_t)h * m->kv_len + j) * D,
                               kv[l][tok / chunk_tokens][1] + at, D * 4);
                    }
                seattn_attention_desc one = {.n_heads = N_HEADS,
                                             .n_kv_heads = N_KV,
                                             .head_dim = D,
                                             .group_size = desc.group_size,
                                             .neighbor_window = desc.neighbor_window,
                                             .q_len = m->q_len,
                                             .kv_len = m->kv_len};
                CHECK_SEATTN(cpu, seattn_tensor_upload(cpu, cq, 0, sq,
                                                       sizeof(float) * N_HEADS * m->q_len * D));
                CHECK_SEATTN(cpu, seattn_tensor_upload(cpu, ck, 0, sk,
                                                       sizeof(float) * N_KV * m->kv_len * D));
                CHECK_SEATTN(cpu, seattn_tensor_upload(cpu, cv, 0, sv,
                                                       sizeof(float) * N_KV * m->kv_len * D));
                CHECK_SEATTN(cpu, seattn_attention(cpu, &one, cq, ck, cv, co, NULL));
                CHECK_SEATTN(cpu, seattn_tensor_download(cpu, co, 0, ref,
                                                         sizeof(float) * N_HEADS * m->q_len * D));
                for (uint32_t h = 0; h < N_HEADS; h++)
                    for (uint32_t i = 0; i < m->q_len * D; i++) {
                        const double e =
                            fabs((double)out[l][((size_t)h * SLOTS * MAX_Q + m->q_start) * D + i] -
                                 ref[(size_t)h * m->q_len * D + i]);
                        worst = isnan(e) || e > worst ? e : worst;
                    }
            }

        /* advance; a finished sequence gives its pages back */
        for (int s = 0; s < SLOTS; s++) {
            const int r = slot_req[s];
            if (r < 0) continue;
            len[s] = seqs[s].kv_len;
            if (len[s] < (uint32_t)(requests[r].prompt + requests[r].generate)) continue;
            for (uint32_t p = 0; p < (len[s] + PAGE - 1) / PAGE; p++)
                free_list[n_free++] = table[s * PAGES_PER_SEQ + p];
            slot_req[s] = -1;
            served++;
            printf("serving_loop: step %2d: request %d done (%u tokens), %u pages free\n", step, r,
                   len[s], n_free);
        }
    }
    printf("serving_loop: %d steps replayed one command buffer of %d layers, %d requests "
           "served, max |vulkan - cpu reference| = %.2e\n",
           calls, N_LAYERS, served, worst);

    vkFreeCommandBuffers(a.dev, a.pool, 1, &cb);
    CHECK_SEATTN(ctx, seattn_context_recycle(ctx));
    for (int l = 0; l < N_LAYERS; l++) {
        seattn_tensor_destroy(tq[l]), seattn_tensor_destroy(to[l]);
        for (uint32_t c = 0; c < n_chunks; c++)
            for (int w = 0; w < 2; w++) {
                seattn_tensor_destroy(tkv[l][c][w]);
                app_buffer_destroy(&a, &pool[l][c][w]);
            }
    }
    seattn_tensor *all[] = {ts, tt, cq, ck, cv, co};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        seattn_tensor_destroy(all[i]);
    seattn_context_destroy(ctx);
    seattn_context_destroy(cpu);
    app_buffer_destroy(&a, &buf);
    app_vulkan_destroy(&a);
    free(sq), free(ref), free(sk), free(sv);
    const int ok = worst <= 1e-4 && served == N_REQUESTS && a.messages == 0;
    printf("serving_loop: validation %s, %d messages; %s\n", a.validation ? "on" : "not installed",
           a.messages, ok ? "OK" : "FAILED");
    return ok ? 0 : 1;
}
