#!/usr/bin/env python3
"""M/M/c queue in SimPy, for the rentree peer comparison.

c = 50 servers, Poisson arrivals (lambda = 45/s), exponential service
(mu = 1/s), FIFO, infinite queue. Written the idiomatic SimPy way: one
`simpy.Resource(capacity=c)` and one generator process per customer.

Events are counted the way rentree counts them: one per arrival plus one per
service completion inside the simulated horizon (so events ~= 2 x customers).
CPU time is `time.process_time()` around `env.run()` only.

Prints one line of JSON on stdout.
"""

import argparse
import json
import random
import sys
import time

import simpy

LAMBDA = 45.0  # arrivals per second
MU = 1.0  # service completions per second per server
SERVERS = 50


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--horizon-s", type=float, default=20_000.0,
                   help="simulated seconds (default 20000)")
    p.add_argument("--warmup-s", type=float, default=1_000.0,
                   help="customers arriving before this are left out of the mean wait (default 1000)")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    if not 0 <= args.warmup_s < args.horizon_s:
        p.error("need 0 <= --warmup-s < --horizon-s")

    rng = random.Random(args.seed)
    expo = rng.expovariate
    warmup = args.warmup_s

    env = simpy.Environment()
    servers = simpy.Resource(env, capacity=SERVERS)

    counts = {"arrivals": 0, "completions": 0}
    waits = []  # waits of customers arriving at/after warm-up that finished service

    def customer(env, servers):
        arrived = env.now
        with servers.request() as req:
            yield req
            wait = env.now - arrived
            yield env.timeout(expo(MU))
        counts["completions"] += 1
        if arrived >= warmup:
            waits.append(wait)

    def source(env, servers):
        while True:
            yield env.timeout(expo(LAMBDA))
            counts["arrivals"] += 1
            env.process(customer(env, servers))

    env.process(source(env, servers))

    t0 = time.process_time()
    env.run(until=args.horizon_s)
    cpu_s = time.process_time() - t0

    events = counts["arrivals"] + counts["completions"]
    out = {
        "engine": f"simpy {simpy.__version__}",
        "events": events,
        "cpu_s": round(cpu_s, 4),
        "events_per_s": round(events / cpu_s, 1) if cpu_s > 0 else None,
        "mean_wait_s": (sum(waits) / len(waits)) if waits else None,
        "customers": len(waits),
        "horizon_s": args.horizon_s,
        "warmup_s": args.warmup_s,
        "seed": args.seed,
    }
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
