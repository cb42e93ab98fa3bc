"""N calls of one prefill on the default Vulkan device, on device-resident tensors, for
counting what a call executes under a tool (bench/RESULTS.md: cachegrind, instructions per
call from the difference of two values of N).

    SEATTN_LIBRARY=build/libseattn.so \\
      valgrind --tool=cachegrind --cache-sim=no python3 bench/calls.py 256 8 128 3

Arguments: tokens, G (1: plain attention), W, N (calls after a first one). 32 query heads over
8 KV heads, head_dim 128, f32, fixed random inputs.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import seattn  # noqa: E402


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    tokens, g, w, n = (int(a) for a in sys.argv[1:])
    rng = np.random.default_rng(1)
    q = rng.standard_normal((32, tokens, 128), dtype=np.float32)
    k = rng.standard_normal((8, tokens, 128), dtype=np.float32)
    v = rng.standard_normal((8, tokens, 128), dtype=np.float32)
    with seattn.Context("vulkan") as ctx:
        qt, kt, vt = ctx.tensor(q), ctx.tensor(k), ctx.tensor(v)
        out = ctx.empty((32, tokens, 128))
        for _ in range(n + 1):
            ctx.attention(qt, kt, vt, out=out, group_size=g, window=w)
        print(ctx.last_call.get("kernel"))


if __name__ == "__main__":
    main()
