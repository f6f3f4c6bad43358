#!/usr/bin/env python3
"""M/M/c queue in Ciw, for the rentree peer comparison.

c = 50 servers, Poisson arrivals (lambda = 45/s), exponential service
(mu = 1/s), FIFO, infinite queue. Built with `ciw.create_network`
(Exponential distributions, number_of_servers=[50]) and run with
`Simulation.simulate_until_max_time`.

Events are counted the way rentree counts them: one per arrival plus one per
service completion inside the simulated horizon (so events ~= 2 x customers).
CPU time is `time.process_time()` around `simulate_until_max_time` only;
building the network and reading the records afterwards are not timed.

Prints one line of JSON on stdout.
"""

import argparse
import json
import sys
import time

import ciw

LAMBDA = 45.0  # arrivals per second
MU = 1.0  # service completions per second per server
SERVERS = 50


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--horizon-s", type=float, default=5_000.0,
                   help="simulated seconds (default 5000)")
    p.add_argument("--warmup-s", type=float, default=1_000.0,
                   help="customers arriving before this are left out of the mean wait (default 1000)")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    if not 0 <= args.warmup_s < args.horizon_s:
        p.error("need 0 <= --warmup-s < --horizon-s")

    ciw.seed(args.seed)
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=LAMBDA)],
        service_distributions=[ciw.dists.Exponential(rate=MU)],
        number_of_servers=[SERVERS],
    )
    sim = ciw.Simulation(network)

    t0 = time.process_time()
    sim.simulate_until_max_time(args.horizon_s)
    cpu_s = time.process_time() - t0

    # Only completed services are in the records (include_incomplete=False).
    services = sim.get_all_records(only=["service"])
    arrivals = sim.nodes[0].number_of_individuals
    completions = len(services)
    waits = [r.waiting_time for r in services if r.arrival_date >= args.warmup_s]

    events = arrivals + completions
    out = {
        "engine": f"ciw {ciw.__version__}",
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
