//! The simulation kernel: simulated time, the pending-event set, the scheduler loop, random streams,
//! duration distributions and arrival processes.
//!
//! The engine knows nothing of pupils or platforms: it is a generic discrete-event kernel. It imports nothing
//! from the rest of the crate.

pub mod arrival;
pub mod dist;
pub mod queue;
pub mod random;
pub mod sim;
pub mod time;

pub use arrival::{ArrivalProcess, ArrivalStream, RateProfile};
pub use dist::DurationDist;
pub use queue::EventQueue;
pub use random::{stream, SeedRng, StreamKey, StreamRng};
pub use sim::{Model, Scheduler, Stop, CHECK_EVENTS, STALL_EVENTS};
pub use time::{SimDuration, SimTime, MICROS_PER_S};
