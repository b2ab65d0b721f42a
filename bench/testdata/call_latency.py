"""Times N chat calls with distinct prompts (so none is served from a cache)
and prints the per-call latencies in microseconds as JSON. Run once under
python (unpatched SDK) and once under aco-launch (patched and recorded)."""
import json
import sys
import time

from openai import OpenAI

n = int(sys.argv[1])
client = OpenAI()
# Warm the connection pool and the SDK's lazy imports.
for i in range(5):
    client.chat.completions.create(model="m", messages=[{"role": "user", "content": f"warm {i}"}])
times = []
for i in range(n):
    t0 = time.perf_counter()
    client.chat.completions.create(model="m", messages=[{"role": "user", "content": f"call {i} {time.time()}"}])
    times.append((time.perf_counter() - t0) * 1e6)
print(json.dumps(times))
