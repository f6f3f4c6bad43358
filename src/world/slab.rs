//! A slab of records with generation counters.
//!
//! Events refer to a record (a request in flight, a user) by slot index and generation; when a record is
//! removed its slot is reused, and an event still pointing at the old generation (a patience timer for a
//! request that was served, a wake-up for a user who already left) is recognised as stale and ignored —
//! cheaper than cancelling events in the queue. Memory follows the number of records alive, not the number
//! that ever existed.

/// A reference to a record: slot index and generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ref {
    /// Slot index.
    pub slot: u32,
    /// Generation of the slot when the reference was made.
    pub generation: u32,
}

#[derive(Debug, Clone)]
struct Slot<T> {
    generation: u32,
    value: Option<T>,
}

/// Records alive, addressed by [`Ref`].
#[derive(Debug)]
pub struct Slab<T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
    live: u64,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab { slots: Vec::new(), free: Vec::new(), live: 0 }
    }
}

impl<T> Slab<T> {
    /// Stores a record and returns its reference.
    #[inline]
    pub fn insert(&mut self, value: T) -> Ref {
        self.live += 1;
        match self.free.pop() {
            Some(slot) => {
                let s = &mut self.slots[slot as usize];
                s.value = Some(value);
                Ref { slot, generation: s.generation }
            }
            None => {
                let slot = u32::try_from(self.slots.len()).expect("fewer than 2^32 records alive");
                self.slots.push(Slot { generation: 0, value: Some(value) });
                Ref { slot, generation: 0 }
            }
        }
    }

    /// Starts loading the record at `r` into the cache (no effect on the slab's contents).
    #[inline]
    pub fn prefetch(&self, r: Ref) {
        if let Some(s) = self.slots.get(r.slot as usize) {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: a prefetch is a hint with no architectural effect; the pointer comes from a live reference.
            unsafe {
                std::arch::x86_64::_mm_prefetch(std::ptr::from_ref(s).cast::<i8>(), std::arch::x86_64::_MM_HINT_T0);
            }
            #[cfg(not(target_arch = "x86_64"))]
            let _ = s;
        }
    }

    /// The record, if the reference is still current.
    #[inline]
    pub fn get(&self, r: Ref) -> Option<&T> {
        let s = self.slots.get(r.slot as usize)?;
        if s.generation == r.generation {
            s.value.as_ref()
        } else {
            None
        }
    }

    /// Mutable access to the record, if the reference is still current.
    #[inline]
    pub fn get_mut(&mut self, r: Ref) -> Option<&mut T> {
        let s = self.slots.get_mut(r.slot as usize)?;
        if s.generation == r.generation {
            s.value.as_mut()
        } else {
            None
        }
    }

    /// Removes the record and invalidates every reference to it.
    #[inline]
    pub fn remove(&mut self, r: Ref) -> Option<T> {
        let s = self.slots.get_mut(r.slot as usize)?;
        if s.generation != r.generation {
            return None;
        }
        let out = s.value.take();
        if out.is_some() {
            s.generation = s.generation.wrapping_add(1);
            self.free.push(r.slot);
            self.live -= 1;
        }
        out
    }

    /// Records alive.
    pub fn live(&self) -> u64 {
        self.live
    }

    /// Iterates over the records alive.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.slots.iter().filter_map(|s| s.value.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_references_are_ignored_after_reuse() {
        let mut slab = Slab::default();
        let a = slab.insert(1u8);
        assert_eq!(slab.remove(a), Some(1));
        let b = slab.insert(2u8);
        assert_eq!(a.slot, b.slot);
        assert!(slab.get(a).is_none());
        assert!(slab.remove(a).is_none());
        assert_eq!(slab.get(b), Some(&2));
        assert_eq!(slab.live(), 1);
    }
}
