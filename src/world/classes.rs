//! Virtual classes: at each bell, classes start on the platform; their teacher and pupils log in like any
//! user (same front door, pool, dependencies, attack and protection) and then join a room on a media server.
//!
//! A class is held only if its teacher gets in: the teacher's arrival takes a room on the first media
//! server (round robin) with a free room and bandwidth for one more participant; when no server has one the
//! class is turned away and lost. Pupils who logged in before their teacher wait for them; a pupil joins if
//! the class's server still has bandwidth. At the end of the join window the class is judged: held (with
//! every pupil in), degraded (held, some pupils could not join) or lost (no teacher, or no room). Rooms and
//! bandwidth are freed when the lesson ends.

use super::ids::{ClassId, GroupId, Id, IdVec, PlatformId, PoolId};
use super::platform::Platform;
use super::slab::Ref;
use super::user::User;
use super::{Clients, Event, PackedEvent, Servers, Shared};
use crate::engine::{Scheduler, SimDuration, StreamRng};
use crate::metrics::Window;
use crate::scenario::ClassesSpec;
use rand::Rng;
use rand_distr::{Distribution, Poisson};

/// No class (an ordinary user).
pub const NO_CLASS: ClassId = ClassId(u32::MAX);

/// One class.
#[derive(Debug, Clone, Copy, Default)]
struct Class {
    /// Pupils expected.
    pupils: u32,
    /// Pupils streaming.
    joined: u32,
    /// Pupils logged in, waiting for their teacher.
    waiting: u32,
    /// The media server hosting it.
    media: Option<u32>,
    /// Whether no room could be found (or the class was judged without teacher).
    lost: bool,
    /// Whether the class has been judged.
    judged: bool,
}

/// One media server.
#[derive(Debug, Clone, Copy, Default)]
struct Media {
    rooms: u32,
    participants: u32,
}

crate::totals! {
    /// Cumulative class counters, running totals from the start of the run.
    pub struct ClassCounts {
        /// Classes whose bell rang.
        pub planned: u64,
        /// Classes judged held.
        pub held: u64,
        /// Of those, with pupils missing.
        pub degraded: u64,
        /// Classes judged lost.
        pub lost: u64,
        /// Participants who joined.
        pub participants: u64,
    }
}

/// The classes of one platform.
#[derive(Debug)]
pub struct Classes {
    spec: ClassesSpec,
    /// Every class so far; classes of one bell are contiguous, `bell_first[b]..bell_first[b + 1]`.
    classes: Vec<Class>,
    bell_first: Vec<usize>,
    media: Vec<Media>,
    /// Where the next room search starts.
    cursor: usize,
    /// Group of the teachers, and of the pupils.
    pub teacher_group: GroupId,
    /// Group of the pupils.
    pub pupil_group: GroupId,
    rng: StreamRng,
    /// Counters so far.
    pub counts: ClassCounts,
    /// The current minute of those counters.
    pub minute: Window<ClassCounts>,
}

impl Classes {
    /// The classes of a platform, with the groups its participants belong to.
    pub fn new(spec: ClassesSpec, teacher_group: GroupId, pupil_group: GroupId, rng: StreamRng) -> Classes {
        let media = vec![Media::default(); spec.media.servers as usize];
        Classes {
            spec,
            classes: Vec::new(),
            bell_first: Vec::new(),
            media,
            cursor: 0,
            teacher_group,
            pupil_group,
            rng,
            counts: ClassCounts::default(),
            minute: Window::default(),
        }
    }

    /// Rooms in use and participants streaming.
    pub fn media_load(&self) -> (u64, u64) {
        self.media.iter().fold((0, 0), |(r, p), m| (r + u64::from(m.rooms), p + u64::from(m.participants)))
    }

    /// A room on the first server (from the cursor) with a free room and bandwidth for one participant.
    fn find_room(&mut self) -> Option<u32> {
        let (rooms, seats) = (self.spec.media.rooms_per_server, self.spec.media.participants_per_server);
        let n = self.media.len();
        for k in 0..n {
            let i = (self.cursor + k) % n;
            let m = &mut self.media[i];
            if m.rooms < rooms && m.participants < seats {
                m.rooms += 1;
                m.participants += 1;
                self.cursor = (i + 1) % n;
                return Some(i as u32);
            }
        }
        None
    }

    /// Seats a pupil in class `c` if its server has bandwidth left.
    fn seat(&mut self, c: usize) -> bool {
        let Some(m) = self.classes[c].media else {
            return false;
        };
        let server = &mut self.media[m as usize];
        if server.participants < self.spec.media.participants_per_server {
            server.participants += 1;
            self.classes[c].joined += 1;
            self.counts.participants += 1;
            true
        } else {
            false
        }
    }
}

impl Classes {
    /// Bell `bell` of `platform` (whose classes these are) rings: its classes are created and their
    /// participants will try to join.
    pub(super) fn bell(&mut self, platform: PlatformId, bell: u32, sched: &mut Scheduler<PackedEvent>) {
        let c = self;
        let (_, count) = c.spec.bells[bell as usize];
        let spread = c.spec.join_spread.as_secs_f64();
        let pupils = Poisson::new(c.spec.pupils_mean.max(1e-9)).expect("validated mean");
        let first = c.classes.len();
        c.bell_first.push(first);
        for k in 0..count {
            let n = if c.spec.pupils_mean > 0.0 { pupils.sample(&mut c.rng) as u32 } else { 0 };
            c.classes.push(Class { pupils: n, ..Class::default() });
            let class = ClassId::from_index(first + k as usize);
            for p in 0..=n {
                let delay = SimDuration::from_secs_f64(c.rng.random::<f64>() * spread);
                sched.schedule(delay, Event::ClassJoin { platform, class, teacher: p == 0 });
            }
        }
        c.counts.planned += count;
        let (window, duration) = (c.spec.join_window, c.spec.duration);
        sched.schedule(window, Event::ClassJudge { platform, bell });
        sched.schedule(duration.max(window), Event::ClassEnd { platform, bell });
    }

    /// A participant logged in: the teacher opens class `k`, a pupil joins (or waits for the teacher).
    fn logged_in(&mut self, k: usize, teacher: bool) {
        let c = self;
        let class = c.classes[k];
        if class.judged || class.lost {
            return;
        }
        if teacher {
            match c.find_room() {
                Some(m) => {
                    c.classes[k].media = Some(m);
                    c.counts.participants += 1;
                    for _ in 0..class.waiting {
                        c.seat(k);
                    }
                    c.classes[k].waiting = 0;
                }
                // "A full media server turns the next class away."
                None => c.classes[k].lost = true,
            }
        } else if class.media.is_some() {
            c.seat(k);
        } else {
            c.classes[k].waiting += 1;
        }
    }

    /// The join window of bell `bell`'s classes ends: each is held, degraded or lost.
    pub(super) fn judge(&mut self, bell: u32) {
        let c = self;
        let first = c.bell_first[bell as usize];
        let end = c.bell_first.get(bell as usize + 1).copied().unwrap_or(c.classes.len());
        for k in first..end {
            let class = &mut c.classes[k];
            class.judged = true;
            if class.media.is_some() {
                c.counts.held += 1;
                if class.joined < class.pupils {
                    c.counts.degraded += 1;
                }
            } else {
                class.lost = true;
                c.counts.lost += 1;
            }
        }
    }

    /// Bell `bell`'s lessons end: their rooms and bandwidth are freed.
    pub(super) fn end(&mut self, bell: u32) {
        let c = self;
        let first = c.bell_first[bell as usize];
        let end = c.bell_first.get(bell as usize + 1).copied().unwrap_or(c.classes.len());
        for k in first..end {
            if let Some(m) = c.classes[k].media.take() {
                let server = &mut c.media[m as usize];
                server.rooms -= 1;
                server.participants -= 1 + c.classes[k].joined;
            }
        }
    }
}

/// Whether a class participant's class is over for them (judged), so they stop trying.
pub(super) fn over(sh: &Shared, user: &User) -> bool {
    if user.class == NO_CLASS {
        return false;
    }
    let platform = sh.groups[user.group].platform;
    sh.platforms[platform].classes.as_ref().is_some_and(|c| c.classes[user.class.index()].judged)
}

/// Class counters over the platforms among `pools`.
pub(super) fn totals(platforms: &IdVec<PlatformId, Platform>, pools: &[PoolId]) -> ClassCounts {
    let mut t = ClassCounts::default();
    for platform in pools.iter().filter_map(|p| p.platform(platforms.len())) {
        if let Some(c) = &platforms[platform].classes {
            t.planned += c.counts.planned;
            t.held += c.counts.held;
            t.degraded += c.counts.degraded;
            t.lost += c.counts.lost;
            t.participants += c.counts.participants;
        }
    }
    t
}

impl Clients {
    /// Schedules every platform's bells.
    pub(super) fn schedule_classes(sh: &mut Shared, sched: &mut Scheduler<PackedEvent>) {
        for (platform, p) in sh.platforms.iter_ids() {
            let Some(c) = p.classes.as_ref().filter(|_| sh.active[platform.pool()]) else { continue };
            for (b, &(t, _)) in c.spec.bells.iter().enumerate() {
                if t <= sh.horizon {
                    sched.schedule_at(t, Event::ClassBell { platform, bell: b as u32 });
                }
            }
        }
    }

    /// A participant makes their first try: a user of the platform's teacher or pupil group.
    pub(super) fn class_join(
        &mut self,
        sh: &mut Shared,
        servers: &mut Servers,
        platform: PlatformId,
        class: ClassId,
        teacher: bool,
        sched: &mut Scheduler<PackedEvent>,
    ) {
        let now = sched.now();
        let p = &mut sh.platforms[platform];
        let c = p.classes.as_ref().expect("classes");
        let group = if teacher { c.teacher_group } else { c.pupil_group };
        if now >= sh.warmup {
            sh.groups[group].stats.users += 1;
        }
        let mut user = User::new(now, group, 0);
        user.class = class;
        user.set(User::TEACHER, teacher);
        p.flag(&mut user);
        let u = self.users.insert(user);
        self.try_login(sh, servers, u, sched);
    }

    /// Participant `u` logged in: their class learns it.
    pub(super) fn class_logged_in(&self, sh: &mut Shared, u: Ref) {
        let user = self.users.get(u).expect("alive");
        let platform = sh.groups[user.group].platform;
        let c = sh.platforms[platform].classes.as_mut().expect("class users belong to platforms with classes");
        c.logged_in(user.class.index(), user.has(User::TEACHER));
    }
}
