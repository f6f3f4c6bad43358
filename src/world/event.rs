//! The events of a world, and their packed form in the pending-event set.
//!
//! An [`Event`] is what the world's handlers read and write. The queue holds each as a [`PackedEvent`], one
//! `u64`, so that a queue item (time and event) is 16 bytes instead of 24: at full scale the queue moves
//! each item about five times between its buckets before it is due, and holds millions at once, so its
//! bytes are memory traffic. On the queue's hold benchmark at a million and ten million pending events,
//! 16-byte items took a fifth less time than 24-byte ones.
//!
//! Layout of the `u64`, low bits first: the kind in bits 0..5, a flag (a boot's success, an incident's
//! end, a teacher) in bit 5; then either a slab slot in bits 5..32 (requests' and users' events, which
//! have no flag) or an attack's index in bits 5..16 and a platform or pool in bits 16..32; and a 32-bit
//! value (a generation, a token, a group, an index) in bits 32..64. What has to hold for it to fit:
//! - a slot below 2^27 ([`SLOT_LIMIT`]): a world's records alive at once are held under half that
//!   ([`RECORD_LIMIT`], enforced with the run's other limits), and a slab's slots never outnumber its
//!   records alive at their peak;
//! - an attack index below 2^11 ([`ATTACK_LIMIT`]): the scenario refuses more attacks on one platform;
//! - a user's event carries the user's slot and a token, not a generation: tokens are unique among a
//!   world's users, so the token alone tells a stale timer.

use super::ids::{AttackId, ClassId, GroupId, PlatformId, PoolId};
use super::slab::Ref;
use std::num::NonZeroU32;

/// Slots of a slab that an event can name: 27 bits.
pub const SLOT_LIMIT: u64 = 1 << 27;

/// Records (users and requests) a world may hold at once, whatever the run's limits: half of
/// [`SLOT_LIMIT`], so that the records made between two checks of the limit stay within it.
pub const RECORD_LIMIT: u64 = SLOT_LIMIT / 2;

/// Attacks one platform may have: 11 bits, refused beyond by the scenario's validation.
pub const ATTACK_LIMIT: usize = crate::scenario::MAX_ATTACKS;
const _: () = assert!(ATTACK_LIMIT <= 1 << 11);

/// Everything that can happen. What the queue holds is its [`PackedEvent`], eight bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The next member of a (cohort, platform) group arrives.
    Arrival {
        /// The group.
        group: GroupId,
    },
    /// A request finishes service in its current pool.
    ServiceDone(Ref),
    /// A waiting request's patience runs out (it leaves the backlog).
    PatienceExpired(Ref),
    /// A request's client timeout expires (the client stops waiting; the server does not know).
    Timeout(Ref),
    /// A user acts: comes back, retries, reads the next page, or gives up waiting in the room.
    Wake {
        /// The user's slot in the users' slab (the slot, not a [`Ref`]: the token names the timer).
        slot: u32,
        /// The user's token when this was scheduled; a different token means the event is stale. Tokens
        /// are unique among a world's users (`Clients::fresh_token`), so a timer of a user who left is
        /// told apart from one of the next user in the same slot.
        token: u32,
    },
    /// A session reaches the platform's session time limit.
    SessionExpired {
        /// The user's slot in the users' slab.
        slot: u32,
        /// The session token when this was scheduled, unique among a world's users like a wake's.
        token: u32,
    },
    /// The next user of a platform's orbit with a constant retrial rate comes back.
    OrbitRetry {
        /// The platform.
        platform: PlatformId,
    },
    /// A platform's waiting room may admit its next user.
    RoomRelease {
        /// The platform.
        platform: PlatformId,
    },
    /// A pool's timetable reaches step `step`.
    TimetableStep {
        /// The pool.
        pool: PoolId,
        /// Index in the timetable.
        step: u32,
    },
    /// A pool's autoscaler evaluates its metric.
    Autoscale {
        /// The pool.
        pool: PoolId,
    },
    /// A server ordered by an autoscaler finishes booting.
    BootDone {
        /// The pool.
        pool: PoolId,
        /// Whether the boot succeeded.
        ok: bool,
    },
    /// A capacity incident starts (servers lost) or ends (servers back).
    Incident {
        /// The pool.
        pool: PoolId,
        /// Index in the pool's incidents.
        index: u32,
        /// Whether this is the end of the incident.
        restore: bool,
    },
    /// An attack's rate changes (aggregate and hybrid models): a burst starts or ends, a ramp steps up.
    AttackStep {
        /// The platform.
        platform: PlatformId,
    },
    /// Protection against attacks engages on a platform.
    MitigationOn {
        /// The platform.
        platform: PlatformId,
    },
    /// A botnet sends a request (requests and hybrid models).
    AttackArrival {
        /// The platform.
        platform: PlatformId,
        /// Index of the attack on that platform.
        attack: AttackId,
        /// The attack's arrival token when scheduled; a different token means the event is stale.
        token: u32,
    },
    /// A bot closes a front-door connection (requests and hybrid models).
    AttackHangup {
        /// The platform.
        platform: PlatformId,
    },
    /// A bell rings on a platform with virtual classes.
    ClassBell {
        /// The platform.
        platform: PlatformId,
        /// Index of the bell.
        bell: u32,
    },
    /// A class participant makes their first try to join.
    ClassJoin {
        /// The platform.
        platform: PlatformId,
        /// The class.
        class: ClassId,
        /// Whether it is the teacher.
        teacher: bool,
    },
    /// The join window of a bell's classes ends: each is judged.
    ClassJudge {
        /// The platform.
        platform: PlatformId,
        /// Index of the bell.
        bell: u32,
    },
    /// A bell's lessons end.
    ClassEnd {
        /// The platform.
        platform: PlatformId,
        /// Index of the bell.
        bell: u32,
    },
    /// The attack work ahead of a pool's first waiting request has drained (aggregate model).
    FluidHead {
        /// The pool.
        pool: PoolId,
        /// The fluid's token when scheduled; a different token means the event is stale.
        token: u32,
    },
    /// The warm-up ends: time averages restart.
    WarmupEnd,
    /// A minute ends: the timeseries takes a row per pool.
    MinuteTick,
}

/// An [`Event`] packed into eight bytes (layout in the module's doc). Made with `From<Event>` and read
/// back with `From<PackedEvent>`: the two are inverse for every event within the limits above.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackedEvent(u64);

/// The kinds, in the low 5 bits.
mod kind {
    pub const SERVICE_DONE: u64 = 0;
    pub const PATIENCE_EXPIRED: u64 = 1;
    pub const TIMEOUT: u64 = 2;
    pub const WAKE: u64 = 3;
    pub const SESSION_EXPIRED: u64 = 4;
    pub const ARRIVAL: u64 = 5;
    pub const ORBIT_RETRY: u64 = 6;
    pub const ROOM_RELEASE: u64 = 7;
    pub const ATTACK_STEP: u64 = 8;
    pub const MITIGATION_ON: u64 = 9;
    pub const ATTACK_HANGUP: u64 = 10;
    pub const AUTOSCALE: u64 = 11;
    pub const BOOT_DONE: u64 = 12;
    pub const TIMETABLE_STEP: u64 = 13;
    pub const INCIDENT: u64 = 14;
    pub const ATTACK_ARRIVAL: u64 = 15;
    pub const CLASS_BELL: u64 = 16;
    pub const CLASS_JUDGE: u64 = 17;
    pub const CLASS_END: u64 = 18;
    pub const CLASS_JOIN: u64 = 19;
    pub const FLUID_HEAD: u64 = 20;
    pub const WARMUP_END: u64 = 21;
    pub const MINUTE_TICK: u64 = 22;
}

const KIND_BITS: u64 = 0x1f;
const FLAG: u64 = 1 << 5;

/// A slot and a 32-bit value.
#[inline]
fn with_slot(kind: u64, slot: u32, value: u32) -> u64 {
    debug_assert!(u64::from(slot) < SLOT_LIMIT, "slot {slot} beyond the packed events' reach");
    kind | u64::from(slot) << 5 | u64::from(value) << 32
}

/// A platform or pool index, a flag and a 32-bit value.
#[inline]
fn with_index(kind: u64, index: u16, flag: bool, value: u32) -> u64 {
    kind | if flag { FLAG } else { 0 } | u64::from(index) << 16 | u64::from(value) << 32
}

impl From<Event> for PackedEvent {
    #[inline]
    fn from(e: Event) -> PackedEvent {
        use kind::*;
        PackedEvent(match e {
            Event::ServiceDone(r) => with_slot(SERVICE_DONE, r.slot, r.generation.get()),
            Event::PatienceExpired(r) => with_slot(PATIENCE_EXPIRED, r.slot, r.generation.get()),
            Event::Timeout(r) => with_slot(TIMEOUT, r.slot, r.generation.get()),
            Event::Wake { slot, token } => with_slot(WAKE, slot, token),
            Event::SessionExpired { slot, token } => with_slot(SESSION_EXPIRED, slot, token),
            Event::Arrival { group } => ARRIVAL | u64::from(group.0) << 32,
            Event::OrbitRetry { platform } => with_index(ORBIT_RETRY, platform.0, false, 0),
            Event::RoomRelease { platform } => with_index(ROOM_RELEASE, platform.0, false, 0),
            Event::AttackStep { platform } => with_index(ATTACK_STEP, platform.0, false, 0),
            Event::MitigationOn { platform } => with_index(MITIGATION_ON, platform.0, false, 0),
            Event::AttackHangup { platform } => with_index(ATTACK_HANGUP, platform.0, false, 0),
            Event::Autoscale { pool } => with_index(AUTOSCALE, pool.0, false, 0),
            Event::BootDone { pool, ok } => with_index(BOOT_DONE, pool.0, ok, 0),
            Event::TimetableStep { pool, step } => with_index(TIMETABLE_STEP, pool.0, false, step),
            Event::Incident { pool, index, restore } => with_index(INCIDENT, pool.0, restore, index),
            Event::AttackArrival { platform, attack, token } => {
                debug_assert!((attack.0 as usize) < ATTACK_LIMIT, "attack {} beyond the packed events' reach", attack.0);
                with_index(ATTACK_ARRIVAL, platform.0, false, token) | u64::from(attack.0) << 5
            }
            Event::ClassBell { platform, bell } => with_index(CLASS_BELL, platform.0, false, bell),
            Event::ClassJudge { platform, bell } => with_index(CLASS_JUDGE, platform.0, false, bell),
            Event::ClassEnd { platform, bell } => with_index(CLASS_END, platform.0, false, bell),
            Event::ClassJoin { platform, class, teacher } => with_index(CLASS_JOIN, platform.0, teacher, class.0),
            Event::FluidHead { pool, token } => with_index(FLUID_HEAD, pool.0, false, token),
            Event::WarmupEnd => WARMUP_END,
            Event::MinuteTick => MINUTE_TICK,
        })
    }
}

impl From<PackedEvent> for Event {
    #[inline]
    fn from(p: PackedEvent) -> Event {
        use kind::*;
        let bits = p.0;
        let slot = (bits >> 5) as u32 & ((SLOT_LIMIT - 1) as u32);
        let value = (bits >> 32) as u32;
        let index = (bits >> 16) as u16;
        let flag = bits & FLAG != 0;
        // A generation is never zero when packed; the fallback only keeps the conversion total.
        let request = || Ref { slot, generation: NonZeroU32::new(value).unwrap_or(NonZeroU32::MIN) };
        match bits & KIND_BITS {
            SERVICE_DONE => Event::ServiceDone(request()),
            PATIENCE_EXPIRED => Event::PatienceExpired(request()),
            TIMEOUT => Event::Timeout(request()),
            WAKE => Event::Wake { slot, token: value },
            SESSION_EXPIRED => Event::SessionExpired { slot, token: value },
            ARRIVAL => Event::Arrival { group: GroupId(value) },
            ORBIT_RETRY => Event::OrbitRetry { platform: PlatformId(index) },
            ROOM_RELEASE => Event::RoomRelease { platform: PlatformId(index) },
            ATTACK_STEP => Event::AttackStep { platform: PlatformId(index) },
            MITIGATION_ON => Event::MitigationOn { platform: PlatformId(index) },
            ATTACK_HANGUP => Event::AttackHangup { platform: PlatformId(index) },
            AUTOSCALE => Event::Autoscale { pool: PoolId(index) },
            BOOT_DONE => Event::BootDone { pool: PoolId(index), ok: flag },
            TIMETABLE_STEP => Event::TimetableStep { pool: PoolId(index), step: value },
            INCIDENT => Event::Incident { pool: PoolId(index), index: value, restore: flag },
            ATTACK_ARRIVAL => Event::AttackArrival {
                platform: PlatformId(index),
                attack: AttackId((bits >> 5) as u32 & (ATTACK_LIMIT as u32 - 1)),
                token: value,
            },
            CLASS_BELL => Event::ClassBell { platform: PlatformId(index), bell: value },
            CLASS_JUDGE => Event::ClassJudge { platform: PlatformId(index), bell: value },
            CLASS_END => Event::ClassEnd { platform: PlatformId(index), bell: value },
            CLASS_JOIN => Event::ClassJoin { platform: PlatformId(index), class: ClassId(value), teacher: flag },
            FLUID_HEAD => Event::FluidHead { pool: PoolId(index), token: value },
            WARMUP_END => Event::WarmupEnd,
            _ => Event::MinuteTick,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind, at the edges of each field's range, comes back as it went in.
    #[test]
    fn every_event_comes_back_from_its_packed_form() {
        let slots = [0u32, 1, 12_345, (SLOT_LIMIT - 1) as u32];
        let values = [0u32, 1, 0x8000_0000, u32::MAX];
        let gens = [NonZeroU32::MIN, NonZeroU32::new(77).unwrap(), NonZeroU32::MAX];
        let indices = [0u16, 1, 300, u16::MAX];
        let mut events = vec![Event::WarmupEnd, Event::MinuteTick];
        for &slot in &slots {
            for &generation in &gens {
                let r = Ref { slot, generation };
                events.extend([Event::ServiceDone(r), Event::PatienceExpired(r), Event::Timeout(r)]);
            }
            for &token in &values {
                events.extend([Event::Wake { slot, token }, Event::SessionExpired { slot, token }]);
            }
        }
        for &v in &values {
            events.push(Event::Arrival { group: GroupId(v) });
            for &i in &indices {
                let (platform, pool) = (PlatformId(i), PoolId(i));
                for flag in [false, true] {
                    events.extend([
                        Event::BootDone { pool, ok: flag },
                        Event::Incident { pool, index: v, restore: flag },
                        Event::ClassJoin { platform, class: ClassId(v), teacher: flag },
                    ]);
                }
                events.extend([
                    Event::OrbitRetry { platform },
                    Event::RoomRelease { platform },
                    Event::AttackStep { platform },
                    Event::MitigationOn { platform },
                    Event::AttackHangup { platform },
                    Event::Autoscale { pool },
                    Event::TimetableStep { pool, step: v },
                    Event::ClassBell { platform, bell: v },
                    Event::ClassJudge { platform, bell: v },
                    Event::ClassEnd { platform, bell: v },
                    Event::FluidHead { pool, token: v },
                ]);
                for attack in [0, 1, ATTACK_LIMIT as u32 - 1] {
                    events.push(Event::AttackArrival { platform, attack: AttackId(attack), token: v });
                }
            }
        }
        for e in events {
            assert_eq!(Event::from(PackedEvent::from(e)), e, "{e:?}");
        }
        assert_eq!(std::mem::size_of::<PackedEvent>(), 8);
        assert_eq!(std::mem::size_of::<(u64, PackedEvent)>(), 16);
    }
}
