//! A slab of records with generation counters.
//!
//! Events refer to a record (a request in flight, a user) by slot index and generation; when a record is
//! removed its slot is reused, and an event still pointing at the old generation (a patience timer for a
//! request that was served, a wake-up for a user who already left) is recognised as stale and ignored —
//! cheaper than cancelling events in the queue. Memory follows the number of records alive, not the number
//! that ever existed.
//!
//! A national run keeps millions of users alive, and each event touches one of them at random: with 4 KiB
//! pages nearly every such touch also misses the address-translation cache, and under a hypervisor the page
//! walk costs more than the cache miss itself. The slab therefore asks the kernel for transparent huge
//! pages (2 MiB) on its storage, where the system allows them (Linux `madvise`; a no-op elsewhere or
//! when disabled). Reserving the expected number of records up front ([`Slab::with_capacity`]) lets every
//! page be huge from its first touch: the reservation is address space, not memory, until it is used.

use std::num::NonZeroU32;

/// A reference to a record: slot index and generation. Generations are never zero, so that an
/// `Option<Ref>` takes no more room than a `Ref` (records that hold one stay within a cache line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ref {
    /// Slot index.
    pub slot: u32,
    /// Generation of the slot when the reference was made.
    pub generation: NonZeroU32,
}

/// One record's place. Aligned to a cache line so that a record of up to 60 bytes is one line, not two:
/// a touch is then one memory access and a prefetch covers the whole record.
#[derive(Debug, Clone)]
#[repr(align(64))]
struct Slot<T> {
    generation: NonZeroU32,
    value: Option<T>,
}

/// The generation after `g`, skipping zero when it wraps.
#[inline]
fn next_generation(g: NonZeroU32) -> NonZeroU32 {
    NonZeroU32::new(g.get().wrapping_add(1)).unwrap_or(NonZeroU32::MIN)
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
    /// A slab with room for `capacity` records before its storage moves.
    pub fn with_capacity(capacity: usize) -> Self {
        let slots = Vec::with_capacity(capacity);
        advise_huge_pages(&slots);
        Slab { slots, free: Vec::new(), live: 0 }
    }

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
                if self.slots.len() == self.slots.capacity() {
                    self.grow();
                }
                self.slots.push(Slot { generation: NonZeroU32::MIN, value: Some(value) });
                Ref { slot, generation: NonZeroU32::MIN }
            }
        }
    }

    /// Doubles the storage. The new storage is advised before the records are copied in, so that every
    /// page of it is huge from its first touch (a reallocation in place would keep the old small pages).
    #[cold]
    fn grow(&mut self) {
        let mut grown = Vec::with_capacity((2 * self.slots.capacity()).max(MIN_CAPACITY));
        advise_huge_pages(&grown);
        grown.append(&mut self.slots);
        self.slots = grown;
    }

    /// Starts loading the record in `slot` into the cache (no effect on the slab's contents).
    #[inline]
    pub fn prefetch_slot(&self, slot: u32) {
        if let Some(s) = self.slots.get(slot as usize) {
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

    /// The record in `slot`, if there is one, and its current reference.
    #[inline]
    pub fn occupant(&self, slot: u32) -> Option<(Ref, &T)> {
        let s = self.slots.get(slot as usize)?;
        s.value.as_ref().map(|v| (Ref { slot, generation: s.generation }, v))
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
            s.generation = next_generation(s.generation);
            self.free.push(r.slot);
            self.live -= 1;
        }
        out
    }

    /// Bytes of the storage the records have touched so far (every slot ever used, alive or free).
    pub fn storage_bytes(&self) -> usize {
        self.slots.len() * std::mem::size_of::<Slot<T>>()
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

/// The first storage of a slab that grows: small slabs stay small.
const MIN_CAPACITY: usize = 64;

/// Size of a transparent huge page on the platforms that have them.
const HUGE_PAGE_BYTES: usize = 2 << 20;

/// Asks the kernel to back the whole huge pages inside `v`'s allocation with huge pages. Advice only: the
/// contents and the mapping do not change, and a refusal (huge pages disabled, an old kernel) is ignored.
fn advise_huge_pages<S>(v: &Vec<S>) {
    let start = v.as_ptr() as usize;
    let end = start + v.capacity() * std::mem::size_of::<S>();
    let (first, last) = (start.next_multiple_of(HUGE_PAGE_BYTES), end / HUGE_PAGE_BYTES * HUGE_PAGE_BYTES);
    if last <= first {
        return;
    }
    #[cfg(target_os = "linux")]
    // SAFETY: `madvise(MADV_HUGEPAGE)` only changes how the kernel may back the range, never its contents;
    // the range lies inside the vector's own allocation, which outlives the call.
    unsafe {
        libc::madvise(first as *mut libc::c_void, last - first, libc::MADV_HUGEPAGE);
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

    #[test]
    fn generations_skip_zero_when_they_wrap() {
        assert_eq!(next_generation(NonZeroU32::MAX), NonZeroU32::MIN);
        assert_eq!(next_generation(NonZeroU32::MIN).get(), 2);
    }

    #[test]
    fn a_reserved_slab_grows_past_its_capacity_and_keeps_its_records() {
        let mut slab = Slab::with_capacity(3);
        let refs: Vec<Ref> = (0..1000u32).map(|i| slab.insert(i)).collect();
        assert!(refs.iter().enumerate().all(|(i, &r)| slab.get(r) == Some(&(i as u32))));
        assert_eq!(slab.live(), 1000);
    }
}
