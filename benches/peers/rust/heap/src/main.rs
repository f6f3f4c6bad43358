//! M/M/c (FIFO, unbounded queue) as a bare discrete-event loop: a `std::collections::BinaryHeap` of (time in
//! integer microseconds, sequence number, event), no framework, no allocation per event. The floor the peer
//! comparison measures rentree and the frameworks against: what the same events cost with nothing else done.
//!
//! `mmc-heap --horizon-s H --warmup-s W --seed S [--servers C --lambda L --mu M]` prints one JSON line:
//! engine, events (arrivals + completions), cpu_s (the loop's own time), events_per_s, mean_wait_s (of the
//! customers who arrived after the warm-up and started service before the horizon).

use rand::SeedableRng;
use rand_distr::{Distribution, Exp};
use rand_pcg::Pcg64Mcg;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::Instant;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Arrival,
    Departure,
}

fn arg(args: &[String], name: &str, default: f64) -> f64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map_or(default, |v| v.parse().unwrap_or_else(|_| panic!("{name}: expected a number, found {v:?}")))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let horizon_us = (arg(&args, "--horizon-s", 100_000.0) * 1e6) as u64;
    let warmup_us = (arg(&args, "--warmup-s", 1_000.0) * 1e6) as u64;
    let seed = arg(&args, "--seed", 1.0) as u64;
    let servers = arg(&args, "--servers", 50.0) as u32;
    let (lambda, mu) = (arg(&args, "--lambda", 45.0), arg(&args, "--mu", 1.0));

    let started = Instant::now();
    let mut rng = Pcg64Mcg::seed_from_u64(seed);
    let (inter, service) = (Exp::new(lambda).expect("lambda > 0"), Exp::new(mu).expect("mu > 0"));
    let us = |x: f64| (x * 1e6).round() as u64;
    let mut heap: BinaryHeap<Reverse<(u64, u64, Event)>> = BinaryHeap::with_capacity(2 * servers as usize + 2);
    let mut seq = 0u64;
    let mut waiting: VecDeque<u64> = VecDeque::new();
    let mut busy = 0u32;
    let (mut events, mut waits, mut wait_sum_us) = (0u64, 0u64, 0u128);
    heap.push(Reverse((us(inter.sample(&mut rng)), seq, Event::Arrival)));
    while let Some(Reverse((now, _, event))) = heap.pop() {
        if now > horizon_us {
            break;
        }
        events += 1;
        match event {
            Event::Arrival => {
                seq += 1;
                heap.push(Reverse((now + us(inter.sample(&mut rng)), seq, Event::Arrival)));
                if busy < servers {
                    busy += 1;
                    if now >= warmup_us {
                        waits += 1;
                    }
                    seq += 1;
                    heap.push(Reverse((now + us(service.sample(&mut rng)), seq, Event::Departure)));
                } else {
                    waiting.push_back(now);
                }
            }
            Event::Departure => match waiting.pop_front() {
                Some(arrived) => {
                    if arrived >= warmup_us {
                        waits += 1;
                        wait_sum_us += u128::from(now - arrived);
                    }
                    seq += 1;
                    heap.push(Reverse((now + us(service.sample(&mut rng)), seq, Event::Departure)));
                }
                None => busy -= 1,
            },
        }
    }
    let cpu_s = started.elapsed().as_secs_f64();
    let mean_wait_s = wait_sum_us as f64 / 1e6 / waits.max(1) as f64;
    println!(
        "{{\"engine\": \"bare binary-heap loop\", \"events\": {events}, \"cpu_s\": {cpu_s:.6}, \"events_per_s\": {:.1}, \"mean_wait_s\": {mean_wait_s:.6}}}",
        events as f64 / cpu_s
    );
}
