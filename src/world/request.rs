//! Requests in flight, in a slab with generation counters.
//!
//! Events refer to a request by slot index and generation; when a request finishes its slot is reused, and
//! an event still pointing at the old generation (an abandonment timer for a request that was served) is
//! recognised as stale and ignored. Slots are compact and reused, so memory follows the number of requests in
//! flight, not the number that ever arrived.

use crate::engine::SimTime;

/// A reference to a request: slot index and generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestRef {
    /// Slot index.
    pub slot: u32,
    /// Generation of the slot when the reference was made.
    pub generation: u32,
}

/// Where a request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// In a pool's backlog.
    Waiting,
    /// Being served.
    InService,
}

/// One request in flight.
#[derive(Debug, Clone, Copy)]
pub struct Request {
    /// When it arrived.
    pub arrived: SimTime,
    /// When service started (valid in `InService`).
    pub started: SimTime,
    /// Its cohort.
    pub cohort: u32,
    /// Its platform (pool index).
    pub platform: u32,
    /// Where it is.
    pub stage: Stage,
    /// Whether it arrived after the warm-up (counted in the statistics).
    pub observed: bool,
}

#[derive(Debug, Clone)]
struct Slot {
    generation: u32,
    request: Option<Request>,
}

/// All requests in flight.
#[derive(Debug, Default)]
pub struct Requests {
    slots: Vec<Slot>,
    free: Vec<u32>,
    live: u64,
}

impl Requests {
    /// Stores a new request and returns its reference.
    #[inline]
    pub fn insert(&mut self, request: Request) -> RequestRef {
        self.live += 1;
        match self.free.pop() {
            Some(slot) => {
                let s = &mut self.slots[slot as usize];
                s.request = Some(request);
                RequestRef { slot, generation: s.generation }
            }
            None => {
                let slot = u32::try_from(self.slots.len()).expect("fewer than 2^32 requests in flight");
                self.slots.push(Slot { generation: 0, request: Some(request) });
                RequestRef { slot, generation: 0 }
            }
        }
    }

    /// The request, if the reference is still current.
    #[inline]
    pub fn get(&self, r: RequestRef) -> Option<&Request> {
        let s = self.slots.get(r.slot as usize)?;
        if s.generation == r.generation {
            s.request.as_ref()
        } else {
            None
        }
    }

    /// Mutable access to the request, if the reference is still current.
    #[inline]
    pub fn get_mut(&mut self, r: RequestRef) -> Option<&mut Request> {
        let s = self.slots.get_mut(r.slot as usize)?;
        if s.generation == r.generation {
            s.request.as_mut()
        } else {
            None
        }
    }

    /// Removes the request and invalidates every reference to it.
    #[inline]
    pub fn remove(&mut self, r: RequestRef) -> Option<Request> {
        let s = self.slots.get_mut(r.slot as usize)?;
        if s.generation != r.generation {
            return None;
        }
        let out = s.request.take();
        if out.is_some() {
            s.generation = s.generation.wrapping_add(1);
            self.free.push(r.slot);
            self.live -= 1;
        }
        out
    }

    /// Requests in flight.
    pub fn live(&self) -> u64 {
        self.live
    }

    /// Iterates over requests in flight.
    pub fn iter(&self) -> impl Iterator<Item = &Request> {
        self.slots.iter().filter_map(|s| s.request.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req() -> Request {
        Request { arrived: SimTime(1), started: SimTime(1), cohort: 0, platform: 0, stage: Stage::Waiting, observed: true }
    }

    #[test]
    fn stale_references_are_ignored_after_reuse() {
        let mut rs = Requests::default();
        let a = rs.insert(req());
        assert!(rs.remove(a).is_some());
        let b = rs.insert(req());
        assert_eq!(a.slot, b.slot);
        assert!(rs.get(a).is_none());
        assert!(rs.remove(a).is_none());
        assert!(rs.get(b).is_some());
        assert_eq!(rs.live(), 1);
    }
}
