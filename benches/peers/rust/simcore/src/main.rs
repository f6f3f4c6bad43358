//! M/M/c (FIFO, unbounded queue) on simcore 0.1.0 in its callback style, as its documentation writes a
//! model: one component handling two event types, arrivals and service completions, drawing its random
//! numbers from the simulation-wide generator.
//!
//! `mmc-simcore --horizon-s H --warmup-s W --seed S [--servers C --lambda L --mu M]` prints one JSON line as
//! `mmc-heap` does (events: the arrivals and completions handled).

use rand_distr::Exp;
use serde::Serialize;
use simcore::{cast, Event, EventHandler, Simulation, SimulationContext};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::Instant;

#[derive(Clone, Serialize)]
struct Arrival {}

#[derive(Clone, Serialize)]
struct Departure {}

struct Queue {
    ctx: SimulationContext,
    inter: Exp<f64>,
    service: Exp<f64>,
    servers: u32,
    busy: u32,
    waiting: VecDeque<f64>,
    warmup_s: f64,
    waits: u64,
    wait_sum_s: f64,
    handled: u64,
}

impl Queue {
    fn start_service(&mut self) {
        let s = self.ctx.sample_from_distribution(&self.service);
        self.ctx.emit_self(Departure {}, s);
    }
}

impl EventHandler for Queue {
    fn on(&mut self, event: Event) {
        self.handled += 1;
        cast!(match event.data {
            Arrival {} => {
                let now = self.ctx.time();
                let next = self.ctx.sample_from_distribution(&self.inter);
                self.ctx.emit_self(Arrival {}, next);
                if self.busy < self.servers {
                    self.busy += 1;
                    if now >= self.warmup_s {
                        self.waits += 1;
                    }
                    self.start_service();
                } else {
                    self.waiting.push_back(now);
                }
            }
            Departure {} => {
                let now = self.ctx.time();
                match self.waiting.pop_front() {
                    Some(arrived) => {
                        if arrived >= self.warmup_s {
                            self.waits += 1;
                            self.wait_sum_s += now - arrived;
                        }
                        self.start_service();
                    }
                    None => self.busy -= 1,
                }
            }
        })
    }
}

fn arg(args: &[String], name: &str, default: f64) -> f64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map_or(default, |v| v.parse().unwrap_or_else(|_| panic!("{name}: expected a number, found {v:?}")))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let horizon_s = arg(&args, "--horizon-s", 100_000.0);
    let warmup_s = arg(&args, "--warmup-s", 1_000.0);
    let seed = arg(&args, "--seed", 1.0) as u64;
    let servers = arg(&args, "--servers", 50.0) as u32;
    let (lambda, mu) = (arg(&args, "--lambda", 45.0), arg(&args, "--mu", 1.0));

    let started = Instant::now();
    let mut sim = Simulation::new(seed);
    let queue = Rc::new(RefCell::new(Queue {
        ctx: sim.create_context("queue"),
        inter: Exp::new(lambda).expect("lambda > 0"),
        service: Exp::new(mu).expect("mu > 0"),
        servers,
        busy: 0,
        waiting: VecDeque::new(),
        warmup_s,
        waits: 0,
        wait_sum_s: 0.0,
        handled: 0,
    }));
    sim.add_handler("queue", queue.clone());
    {
        let q = queue.borrow();
        let first = q.ctx.sample_from_distribution(&q.inter);
        q.ctx.emit_self(Arrival {}, first);
    }
    sim.step_until_time(horizon_s);
    let cpu_s = started.elapsed().as_secs_f64();
    let q = queue.borrow();
    let events = q.handled;
    println!(
        "{{\"engine\": \"simcore 0.1.0\", \"events\": {events}, \"cpu_s\": {cpu_s:.6}, \"events_per_s\": {:.1}, \"mean_wait_s\": {:.6}}}",
        events as f64 / cpu_s,
        q.wait_sum_s / q.waits.max(1) as f64
    );
}
