"""Runs `seattn model` on every config of a folder (its default context: twice the trained
length) and prints a Markdown table of what it printed (README, "Models"); the whole output
goes to RAW_OUT. Usage: python3 bench/model_table.py build/seattn ../shared/golden-models/configs
RAW_OUT"""
import os, re, subprocess, sys, time
seattn, cfgdir, rawout = sys.argv[1], sys.argv[2], sys.argv[3]
rows, raw = [], []
for name in sorted(os.listdir(cfgdir)):
    t0 = time.time()
    p = subprocess.run([seattn, "model", os.path.join(cfgdir, name)], capture_output=True, text=True)
    dt = time.time() - t0
    out = p.stdout
    raw.append("$ seattn model %s   (exit %d, %.1f s)\n%s" % (name, p.returncode, dt, out))
    head = re.search(r"^(\S.*) \((\S+)\): (\d+) layers, trained for (\d+) tokens; context (\d+)", out, re.M)
    gw = re.search(r"G (\d+), W (\d+) \(\(", out)
    g, w = (gw.group(1), gw.group(2)) if gw else ("1", "-")
    types = re.findall(r"^  (full|sliding) attention x(\d+)", out, re.M)
    exact = re.findall(r"exact on the device:.*\((G \d+, W \d+).*: (exact within 1e-4|NOT EXACT)\)", out)
    times = re.findall(r"time at (\d+) keys \((\d+)/(\d+) heads, f16\): decode ([\d.]+) ms \(([^)]*)\), prefill chunk of (\d+) ([\d.]+) ms \([^)]*\)( \[as (\d+) calls)?", out)
    tt = []
    for (kind, n), (keys, h, kv, dec, kern, chunk, pre, _, calls) in zip(types, times):
        tt.append("%s x%s: %s keys, decode %s ms, prefill %s: %s ms%s" % (
            kind, n, keys, dec, chunk, pre, " (%s calls)" % calls if calls else ""))
    ok = all(e[1] == "exact within 1e-4" for e in exact) and p.returncode == 0
    rows.append("| %s | %s | %s | %s, %s | %s | %s | %.0f s |" % (
        name, head.group(4) if head else "?", head.group(5) if head else "?", g, w,
        "exact" if ok else "NOT EXACT", "; ".join(tt), dt))
with open(rawout, "w") as f:
    f.write("\n".join(raw))
print("| config | trained | context N | G, W | device check | time (heads of the model, f16) | command |")
print("| --- | --- | --- | --- | --- | --- | --- |")
print("\n".join(rows))
