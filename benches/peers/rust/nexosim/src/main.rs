//! M/M/c (FIFO, unbounded queue) on nexosim 1.0, as its documentation writes a model: one model whose
//! schedulable inputs are the arrivals and the service completions, scheduled on itself, its random streams
//! in its environment (state that is not persisted), on one executor thread.
//!
//! `mmc-nexosim --horizon-s H --warmup-s W --seed S [--servers C --lambda L --mu M]` prints one JSON line as
//! `mmc-heap` does. nexosim refuses an event scheduled for the current instant, so a drawn delay is at least
//! one nanosecond (a draw below that has probability 4.5e-8 per arrival at 45/s).

use nexosim::model::{schedulable, BuildContext, Context, Model, ProtoModel};
use nexosim::simulation::{Mailbox, SimInit};
use nexosim::time::MonotonicTime;
use rand::SeedableRng;
use rand_distr::{Distribution, Exp};
use rand_pcg::Pcg64Mcg;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the model counted, handed over at the horizon: (events handled, waits, sum of waits in seconds).
type Report = Arc<Mutex<Option<(u64, u64, f64)>>>;

#[derive(Serialize, Deserialize)]
pub struct Queue {
    servers: u32,
    busy: u32,
    waiting: VecDeque<f64>,
    warmup_s: f64,
    horizon_s: f64,
    waits: u64,
    wait_sum_s: f64,
    handled: u64,
}

pub struct QueueEnv {
    rng: Pcg64Mcg,
    inter: Exp<f64>,
    service: Exp<f64>,
    report: Report,
}

fn seconds(t: MonotonicTime) -> f64 {
    t.as_secs() as f64 + f64::from(t.subsec_nanos()) * 1e-9
}

fn delay(x: f64) -> Duration {
    Duration::from_secs_f64(x).max(Duration::from_nanos(1))
}

#[Model(type Env=QueueEnv)]
impl Queue {
    #[nexosim(init)]
    async fn init(&mut self, cx: &Context<Self>, env: &mut QueueEnv) {
        let first = env.inter.sample(&mut env.rng);
        cx.schedule_event(delay(first), schedulable!(Self::arrival), ()).expect("a future instant");
        cx.schedule_event(Duration::from_secs_f64(self.horizon_s), schedulable!(Self::report), ()).expect("a future instant");
    }

    #[nexosim(schedulable)]
    async fn arrival(&mut self, _: (), cx: &Context<Self>, env: &mut QueueEnv) {
        self.handled += 1;
        let now = seconds(cx.time());
        let next = env.inter.sample(&mut env.rng);
        cx.schedule_event(delay(next), schedulable!(Self::arrival), ()).expect("a future instant");
        if self.busy < self.servers {
            self.busy += 1;
            if now >= self.warmup_s {
                self.waits += 1;
            }
            let s = env.service.sample(&mut env.rng);
            cx.schedule_event(delay(s), schedulable!(Self::departure), ()).expect("a future instant");
        } else {
            self.waiting.push_back(now);
        }
    }

    #[nexosim(schedulable)]
    async fn departure(&mut self, _: (), cx: &Context<Self>, env: &mut QueueEnv) {
        self.handled += 1;
        match self.waiting.pop_front() {
            Some(arrived) => {
                if arrived >= self.warmup_s {
                    self.waits += 1;
                    self.wait_sum_s += seconds(cx.time()) - arrived;
                }
                let s = env.service.sample(&mut env.rng);
                cx.schedule_event(delay(s), schedulable!(Self::departure), ()).expect("a future instant");
            }
            None => self.busy -= 1,
        }
    }

    #[nexosim(schedulable)]
    async fn report(&mut self, _: (), _: &Context<Self>, env: &mut QueueEnv) {
        *env.report.lock().expect("report lock") = Some((self.handled, self.waits, self.wait_sum_s));
    }
}

struct ProtoQueue {
    model: Queue,
    env: QueueEnv,
}

impl ProtoModel for ProtoQueue {
    type Model = Queue;

    fn build(self, _: &mut BuildContext<Self>) -> (Queue, QueueEnv) {
        (self.model, self.env)
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
    let report: Report = Arc::new(Mutex::new(None));
    let proto = ProtoQueue {
        model: Queue { servers, busy: 0, waiting: VecDeque::new(), warmup_s, horizon_s, waits: 0, wait_sum_s: 0.0, handled: 0 },
        env: QueueEnv {
            rng: Pcg64Mcg::seed_from_u64(seed),
            inter: Exp::new(lambda).expect("lambda > 0"),
            service: Exp::new(mu).expect("mu > 0"),
            report: report.clone(),
        },
    };
    let mut sim =
        SimInit::with_num_threads(1).add_model(proto, Mailbox::new(), "queue").init(MonotonicTime::EPOCH).expect("the simulation starts");
    sim.step_until(Duration::from_secs_f64(horizon_s)).expect("the simulation runs to its horizon");
    let cpu_s = started.elapsed().as_secs_f64();
    let (handled, waits, wait_sum_s) = report.lock().expect("report lock").expect("the model reported at the horizon");
    // The report itself is an event, not an arrival or a completion.
    let events = handled;
    println!(
        "{{\"engine\": \"nexosim 1.0.0\", \"events\": {events}, \"cpu_s\": {cpu_s:.6}, \"events_per_s\": {:.1}, \"mean_wait_s\": {:.6}}}",
        events as f64 / cpu_s,
        wait_sum_s / waits.max(1) as f64
    );
}
