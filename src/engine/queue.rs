//! The pending-event set: a monotone radix heap with FIFO order among equal times.
//!
//! A discrete-event run only ever asks for events at or after the last one popped ("monotone" priorities),
//! which is what a radix heap needs. Its cost per hold (pop + push) does not grow with the number of pending
//! events the way a binary heap's does: a binary heap's sift touches `log2 n` cache lines spread over the
//! whole array, which at millions of pending events means a cache miss per level, while a radix heap moves
//! each item at most once per bucket (at most 64 times in its life, in practice a handful) with sequential
//! memory access. (A base-16 variant, which moves items fewer times, measured slower here: its 256 buckets
//! spread a small queue over more cache lines than the moves it saves.)
//!
//! Bucket `i` holds the items whose key differs from `last` first in bit `i - 1`. This bucket index is
//! exact for every item at every moment (raising `last` to the minimum of the lowest non-empty bucket `i`
//! cannot change the highest differing bit of items in buckets above `i`), and every item of bucket `i` is
//! smaller than every item of a higher bucket.
//!
//! The bottom of the heap is a sorted run, `current`: when the lowest non-empty bucket holds at most
//! `RUN` items (`SMALL_RUN` in a small queue, `LARGE_RUN` in a large one) it is sorted into the run
//! instead of being split further, which saves the last few moves of each item and, above all, tells the
//! order of the next events in advance, so that a model can start loading the records they point to
//! several events ahead ([`EventQueue::peek_ahead`]). A push that falls within the run (at or before its
//! last key) is inserted in order; anything later goes to the buckets. A run that has grown to twice its
//! size is halved (`EventQueue::shed`).
//!
//! FIFO among equal keys holds without a sequence number: items with equal keys always sit in the same
//! bucket, in insertion order (buckets are only appended to and redistributed front to back); the run is
//! sorted stably; and a push equal to a key of the run goes after it.

use super::time::SimTime;

const BUCKETS: usize = 65;

/// A bucket of at most this many items is sorted into the run rather than split into lower buckets,
/// while the queue holds fewer than [`LARGE_QUEUE`] items. Sorting a few hundred items in cache costs
/// less than the moves it saves, each of which writes to a bucket far from the others. Longer runs make
/// the pushes that land inside them shift more items. Measured on the national replay (full scale, CPU
/// seconds): 16 → slower, 64 → 68, 256 → 64, 1024 → 64; with the run as a plain vector, 32 and 16
/// handled the M/M/c bench in 3% and 5% fewer instructions but held 17% more memory at full scale for
/// no gain there; since the run is held under twice its size ([`EventQueue::shed`]), 128 was slower
/// than 256 at full scale (24.2 against 22.9 s of wall time).
const RUN: usize = 256;

/// The size of [`RUN`] once the queue holds [`LARGE_QUEUE`] items or more. A push then seldom lands in
/// the run, which is a sliver of the queue (in the national replay's largest component, 2.9 million of
/// 193 million pushes), so a longer run costs little in insertions and saves moves down the buckets
/// (4.7 per push there with 256). At full scale, three runs of each alternated (median wall and CPU
/// seconds) with one size for every queue: 256 → 22.9 and 34.2, 512 → 22.4 and 33.4, 1024 → 21.4 and
/// 32.5, 2048 → 21.6 and 33.7. One size for every queue would not do: with 1,024, the hold benchmark at
/// 1,000 pending events, whose queue is then one run taking every push, went from 23.5 to 79.6 ns.
const LARGE_RUN: usize = 1024;

/// The number of pending events from which a bucket of up to [`LARGE_RUN`] items is sorted into the run.
/// Sixty-four times [`LARGE_RUN`]: the run is then at most a sixty-fourth of the queue.
const LARGE_QUEUE: usize = 64 * LARGE_RUN;

/// The size of [`RUN`] while the queue holds fewer than [`SMALL_QUEUE`] items. A run of up to 256 would
/// then be most of the queue: nearly every push would land in it and shift part of it. On the M/M/c
/// bench (c = 50, some 50 to 100 events pending), 32 took 2.7% less time than 256 (guard, 7 pairs; 16
/// and 64 were slower than 32), and the hold benchmark at 1,000 pending, above the threshold, did not
/// change; applied up to 4,096 pending it made that benchmark 29% slower, its buckets split further.
const SMALL_RUN: usize = 32;

/// The number of pending events below which runs are at most [`SMALL_RUN`] items.
const SMALL_QUEUE: usize = 256;

/// An insertion within this many items of an end of the run walks to its place; farther in, it searches.
const PROBE: usize = 8;

/// Bits that hold an item's index in its bucket when the bucket is sorted into the run (see
/// [`EventQueue::sort_into_run`]): enough for [`LARGE_RUN`] items.
const RUN_INDEX_BITS: u32 = 10;
const _: () = assert!(SMALL_RUN <= RUN && RUN <= LARGE_RUN && LARGE_RUN <= 1 << RUN_INDEX_BITS);

/// A priority queue of events keyed by [`SimTime`], popping the earliest first and, among equal times, in
/// insertion order. Pushing a time earlier than the last popped one is a logic error: it is caught by a
/// debug assertion and, in release builds, the event is treated as due now (it cannot jump the past).
#[derive(Debug)]
pub struct EventQueue<E> {
    /// The earliest items, `current[head..]`, sorted by key (FIFO among equal keys), consumed front to
    /// back; the slots before `head` are spent. Every item in the buckets is later than the run's last
    /// item. (A plain vector rather than a ring buffer: an insertion moves one contiguous stretch, into
    /// the spent slot before `head` when the shorter side is the front, with no wrap-around to handle.)
    current: Vec<(u64, E)>,
    /// Index of the run's first item in `current`.
    head: usize,
    /// `buckets[i - 1]` is bucket `i` (1..=64) of the radix heap. An array, not a vector: a bucket index
    /// computed from a 64-bit key is then known to be in range, and a move between buckets carries no
    /// bounds check.
    buckets: [Vec<(u64, E)>; BUCKETS - 1],
    /// Bit `i - 1` is set when bucket `i` is non-empty, so the lowest one is a `trailing_zeros` away.
    occupied: u64,
    last: u64,
    len: usize,
    /// Scratch space of [`EventQueue::sort_into_run`], kept to spare an allocation per refill.
    order: Vec<u64>,
    /// The radix sort's second buffer ([`radix_sort`]).
    scratch: Vec<u64>,
}

impl<E: Copy> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

/// Index of the bucket holding `key` when the floor is `last`: one more than the highest differing bit.
#[inline]
fn bucket_of(key: u64, last: u64) -> usize {
    (64 - (key ^ last).leading_zeros()) as usize
}

impl<E: Copy> EventQueue<E> {
    /// An empty queue whose floor starts at time zero.
    pub fn new() -> Self {
        EventQueue {
            current: Vec::new(),
            head: 0,
            buckets: std::array::from_fn(|_| Vec::new()),
            occupied: 0,
            last: 0,
            len: 0,
            order: Vec::with_capacity(LARGE_RUN),
            scratch: Vec::with_capacity(LARGE_RUN),
        }
    }

    /// Number of pending events.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no event is pending.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The time of the last popped event (the queue's monotone floor).
    #[inline]
    pub fn floor(&self) -> SimTime {
        SimTime(self.last)
    }

    /// Adds an event due at `time`.
    #[inline]
    pub fn push(&mut self, time: SimTime, event: E) {
        debug_assert!(time.0 >= self.last, "event scheduled in the past: {} < {}", time.0, self.last);
        let key = time.0.max(self.last);
        self.place(key, event);
        self.len += 1;
    }

    #[inline]
    fn place(&mut self, key: u64, event: E) {
        match self.current.last() {
            // Within the run: after every item due at or before it (so after its equals: FIFO).
            Some(&(back, _)) if self.head < self.current.len() && key <= back => {
                if key == back {
                    self.current.push((key, event));
                } else if self.current.len() - self.head >= 2 * self.run_size() && self.shed() {
                    // The run was halved: the key falls within what is left, or later.
                    self.place(key, event);
                } else {
                    self.insert_within(key, event);
                }
            }
            _ => self.spill(key, event),
        }
    }

    /// Inserts an item before the run's last key, after its equals. Most insertions land a few items from
    /// one end of the run (on the M/M/c bench, 5 on average from the nearer one): within [`PROBE`] items
    /// of either end, the items are moved one by one as the place is looked for, as in an insertion sort;
    /// elsewhere a binary search finds it and the shorter side is moved.
    #[inline]
    fn insert_within(&mut self, key: u64, event: E) {
        let len = self.current.len();
        let head = self.head;
        debug_assert!(head < len && key < self.current[len - 1].0);
        if head > 0 && (len - head <= PROBE || key < self.current[head + PROBE].0) {
            // Near the front, and a spent slot precedes it: move the items due at or before `key` back
            // one. The walk stops at the latest at the run's last item, which is later than `key`.
            let mut at = head - 1;
            while self.current[at + 1].0 <= key {
                self.current[at] = self.current[at + 1];
                at += 1;
            }
            self.current[at] = (key, event);
            self.head = head - 1;
        } else if len - head > PROBE && key >= self.current[len - 1 - PROBE].0 {
            // Near the back: move the items later than `key` up one. The walk stops at the latest at
            // `len - 1 - PROBE`, whose key is at or before `key`.
            self.current.push(self.current[len - 1]);
            let mut at = len - 1;
            while self.current[at - 1].0 > key {
                self.current[at] = self.current[at - 1];
                at -= 1;
            }
            self.current[at] = (key, event);
        } else {
            let at = head + self.current[head..].partition_point(|&(k, _)| k <= key);
            if head > 0 && at - head <= len - at {
                // The front is the shorter side and a spent slot precedes it: move the front back.
                self.current.copy_within(head..at, head - 1);
                self.head = head - 1;
                self.current[at - 1] = (key, event);
            } else {
                self.current.insert(at, (key, event));
            }
        }
    }

    /// Puts an item later than the run into its bucket.
    #[inline]
    fn spill(&mut self, key: u64, event: E) {
        // Bucket 0 (equal to `last`) cannot be asked for: `last` is at or before the run's first key, so a
        // key later than the run differs from it.
        let b = bucket_of(key, self.last).max(1);
        self.buckets[b - 1].push((key, event));
        self.occupied |= 1 << (b - 1);
    }

    /// Gives the later half of an overlong run back to the buckets, and the spent slots before its head
    /// back to the vector, so that an insertion shifts at most a run's size ([`EventQueue::run_size`]) of
    /// items. Returns false (and changes nothing) when the run's keys are all equal, so that no cut keeps
    /// equals apart.
    ///
    /// Without it a run could grow without bound: a run sorted from a sparse bucket can end far ahead
    /// (an event an hour away among a few), and every push before that end is inserted into it, so in a
    /// busy stretch it held thousands of items and each insertion moved hundreds of them (a component of
    /// the national replay spent most of its time in those moves).
    ///
    /// The cut falls where the key rises strictly, so the items given back are later than every item kept
    /// and share no key with them, and they are appended to their buckets in their run order: FIFO among
    /// equal keys holds, and so does the buckets' invariant (they are later than the floor `last`).
    #[cold]
    fn shed(&mut self) -> bool {
        let end = self.current.len();
        let mid = self.head + (end - self.head) / 2;
        let rises = |i: &usize| self.current[*i].0 > self.current[*i - 1].0;
        let Some(cut) = (mid.max(self.head + 1)..end).find(rises).or_else(|| (self.head + 1..mid).rev().find(rises)) else {
            return false;
        };
        for at in cut..end {
            let (key, event) = self.current[at];
            self.spill(key, event);
        }
        self.current.truncate(cut);
        self.current.drain(..self.head);
        self.head = 0;
        true
    }

    /// The most items a bucket may hold to be sorted into the run: [`RUN`], [`SMALL_RUN`] in a queue of
    /// fewer than [`SMALL_QUEUE`] items, or [`LARGE_RUN`] in a queue of [`LARGE_QUEUE`] items or more. A
    /// run that has grown to twice this is halved before the next insertion into it, so that a run fresh
    /// from a bucket has room to take the pushes that land in it.
    #[inline]
    fn run_size(&self) -> usize {
        if self.len >= LARGE_QUEUE {
            LARGE_RUN
        } else if self.len < SMALL_QUEUE {
            SMALL_RUN
        } else {
            RUN
        }
    }

    /// Removes and returns the earliest event (the first inserted among equal times).
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        if self.head == self.current.len() && !self.refill() {
            return None;
        }
        let (key, event) = *self.current.get(self.head)?;
        self.head += 1;
        self.len -= 1;
        Some((SimTime(key), event))
    }

    /// The time of the earliest pending event, if any.
    pub fn peek_time(&mut self) -> Option<SimTime> {
        if self.head == self.current.len() && !self.refill() {
            return None;
        }
        self.current.get(self.head).map(|&(k, _)| SimTime(k))
    }

    /// The event that will pop `ahead` pops from now (0: the next one) if nothing earlier is pushed in
    /// between, or the last of the sorted run if the run is shorter; `None` when the run is empty. For
    /// prefetching: a hint, cheap to give, never a promise.
    #[inline]
    pub fn peek_ahead(&self, ahead: usize) -> Option<&E> {
        let n = self.current.len() - self.head;
        if n == 0 {
            return None;
        }
        self.current.get(self.head + ahead.min(n - 1)).map(|(_, e)| e)
    }

    /// Sorts `items` (at most [`LARGE_RUN`], keys within `2^(64 - RUN_INDEX_BITS)` of `min`) into the
    /// empty run, stably, and leaves `items` empty. Each item is sorted as one `u64`, its offset from `min` above its
    /// index in `items`: an unstable sort of plain integers, which keeps equal keys in insertion order
    /// because the index breaks their ties, and costs a third of the instructions of a stable sort of the
    /// 24-byte items (callgrind, national replay at scale 0.01).
    ///
    /// The offsets are below `2^offset_bits`. From [`RADIX_MIN`] items the integers are sorted by a radix
    /// sort of the offsets' bits ([`radix_sort`]), below by comparisons.
    #[inline]
    fn sort_into_run(&mut self, items: &mut Vec<(u64, E)>, min: u64, offset_bits: u32) {
        debug_assert!(items.len() <= LARGE_RUN && self.current.is_empty());
        debug_assert!(offset_bits <= 64 - RUN_INDEX_BITS);
        debug_assert!(items.iter().all(|&(k, _)| (k - min) >> offset_bits == 0));
        self.order.clear();
        self.order.extend(items.iter().enumerate().map(|(at, &(k, _))| ((k - min) << RUN_INDEX_BITS) | at as u64));
        if self.order.len() >= RADIX_MIN {
            radix_sort(&mut self.order, &mut self.scratch, offset_bits);
        } else {
            self.order.sort_unstable();
        }
        const INDEX: u64 = (1 << RUN_INDEX_BITS) - 1;
        self.current.extend(self.order.iter().map(|&o| items[(o & INDEX) as usize]));
        items.clear();
    }

    /// Refills the empty run from the lowest non-empty bucket: splits buckets into lower ones until the
    /// lowest holds at most [`EventQueue::run_size`] items, then sorts that one into the run. Returns false
    /// when the queue is empty.
    fn refill(&mut self) -> bool {
        debug_assert_eq!(self.head, self.current.len());
        self.current.clear();
        self.head = 0;
        loop {
            if self.occupied == 0 {
                return false;
            }
            let i = self.occupied.trailing_zeros() as usize;
            self.occupied &= !(1 << i);
            let mut moving = std::mem::take(&mut self.buckets[i]);
            let min = moving.iter().map(|(k, _)| *k).min().expect("bucket is non-empty");
            self.last = min;
            if moving.len() <= self.run_size() {
                // Bucket `i + 1` spans less than 2^i: its keys share every bit above bit `i` with the old
                // floor, and have bit `i` set. Bucket 1 also takes pushes equal to the floor (`spill`), so
                // it spans the floor and the floor + 1: offsets below 2^1.
                if i <= (64 - RUN_INDEX_BITS) as usize {
                    self.sort_into_run(&mut moving, min, (i as u32).max(1));
                    self.buckets[i] = moving;
                } else {
                    // Stable: equal keys keep their insertion order.
                    moving.sort_by_key(|&(k, _)| k);
                    // The run takes the bucket's allocation and the bucket the run's (empty) one.
                    let empty = std::mem::replace(&mut self.current, moving);
                    self.buckets[i] = empty;
                }
                return true;
            }
            for &(key, event) in &moving {
                let b = bucket_of(key, self.last);
                if b == 0 {
                    // Equal to the new minimum: the run, whose items all share this key (FIFO order).
                    self.current.push((key, event));
                } else {
                    self.buckets[b - 1].push((key, event));
                    self.occupied |= 1 << (b - 1);
                }
            }
            // Keep the allocation: the same bucket fills up again later in the run.
            moving.clear();
            self.buckets[i] = moving;
            if !self.current.is_empty() {
                return true;
            }
        }
    }
}

/// From this many items a run is sorted by [`radix_sort`]; below, by comparisons, which cost less than
/// the radix sort's tables for a few dozen items.
const RADIX_MIN: usize = 128;

/// Digits of the radix sort: 8 bits, a table of 256 counts per digit, which stays in the first-level cache.
const DIGIT_BITS: u32 = 8;

/// Sorts `keys` (each an offset below `2^offset_bits` above [`RUN_INDEX_BITS`] bits of its index, in
/// ascending order of index) into ascending order: a least-significant-digit radix sort of the offsets,
/// 8 bits a pass, which is stable, so the indices keep equal offsets in their order and the result is
/// the same as a sort of the whole integers. The counts of every digit are taken in one reading, and a
/// digit that all keys share (the high digits of offsets within a narrow bucket) is skipped.
///
/// Sorting a run of a thousand items this way took a third of the time of `sort_unstable`'s comparisons,
/// whose branches a run's random offsets mispredict half the time.
fn radix_sort(keys: &mut Vec<u64>, scratch: &mut Vec<u64>, offset_bits: u32) {
    const MAX_DIGITS: usize = (64 - RUN_INDEX_BITS).div_ceil(DIGIT_BITS) as usize;
    let digits = offset_bits.div_ceil(DIGIT_BITS).max(1) as usize;
    debug_assert!(digits <= MAX_DIGITS);
    let mut counts = [[0u32; 1 << DIGIT_BITS]; MAX_DIGITS];
    for &k in keys.iter() {
        let offset = k >> RUN_INDEX_BITS;
        for (d, count) in counts.iter_mut().enumerate().take(digits) {
            count[(offset >> (DIGIT_BITS * d as u32)) as usize & 0xff] += 1;
        }
    }
    scratch.clear();
    scratch.resize(keys.len(), 0);
    for (d, count) in counts.iter_mut().enumerate().take(digits) {
        let shift = RUN_INDEX_BITS + DIGIT_BITS * d as u32;
        if count[(keys[0] >> shift) as usize & 0xff] as usize == keys.len() {
            continue;
        }
        let mut start = 0u32;
        for c in count.iter_mut() {
            (*c, start) = (start, start + *c);
        }
        for &k in keys.iter() {
            let digit = (k >> shift) as usize & 0xff;
            scratch[count[digit] as usize] = k;
            count[digit] += 1;
        }
        std::mem::swap(keys, scratch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use std::collections::BTreeMap;

    /// Runs `ops` random operations against a shadow `BTreeMap<(time, seq), id>` and checks every pop.
    fn check_against_shadow(seed: u64, ops: usize, max_delay: u64, push_share: f64) {
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
        let mut queue = EventQueue::new();
        let mut shadow: BTreeMap<(u64, u64), u64> = BTreeMap::new();
        let mut seq = 0u64;
        let mut now = 0u64;
        for _ in 0..ops {
            if shadow.is_empty() || rng.random_bool(push_share) {
                // Mix of equal-time ties (delay 0), short and very long delays.
                let delay = match rng.random_range(0..4) {
                    0 => 0,
                    1 => rng.random_range(0..8),
                    2 => rng.random_range(0..max_delay.max(1)),
                    _ => rng.random_range(0..u64::MAX / 4),
                };
                let t = now.saturating_add(delay);
                queue.push(SimTime(t), seq);
                shadow.insert((t, seq), seq);
                seq += 1;
            } else {
                let ((t, s), id) = shadow.pop_first().expect("shadow non-empty");
                let got = queue.pop().expect("queue non-empty when shadow is");
                assert_eq!(got, (SimTime(t), id), "seed {seed}: popped wrong item");
                assert_eq!(s, id);
                now = t;
            }
            assert_eq!(queue.len(), shadow.len());
        }
        while let Some(((t, _), id)) = shadow.pop_first() {
            assert_eq!(queue.pop(), Some((SimTime(t), id)));
        }
        assert!(queue.pop().is_none());
        assert!(queue.is_empty());
    }

    #[test]
    fn matches_shadow_btreemap_over_millions_of_operations() {
        // Several regimes: growing (push-heavy), steady (hold-like), draining; tiny and huge delays.
        check_against_shadow(1, 1_000_000, 1_000, 0.5);
        check_against_shadow(2, 1_000_000, 10, 0.55);
        check_against_shadow(3, 1_000_000, 1_000_000_000, 0.6);
        check_against_shadow(4, 500_000, 50, 0.45);
    }

    #[test]
    fn a_run_ending_far_ahead_is_halved_and_keeps_the_order() {
        // A few sparse events, the last an hour away, are sorted into the run; then a busy stretch pushes
        // thousands of near events inside it, with ties, while popping: the run grows past twice its size
        // and is halved again and again while the queue is small, then the queue grows past
        // `LARGE_QUEUE` and its runs are sorted from larger buckets. Every pop is checked against the
        // shadow.
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(9);
        let mut queue = EventQueue::new();
        let mut shadow: BTreeMap<(u64, u64), u64> = BTreeMap::new();
        let mut seq = 0u64;
        let mut push = |queue: &mut EventQueue<u64>, shadow: &mut BTreeMap<(u64, u64), u64>, t: u64| {
            queue.push(SimTime(t), seq);
            shadow.insert((t, seq), seq);
            seq += 1;
        };
        // Both in the bucket of bit 32 from floor 0, so the first pop sorts them into one run, which then
        // ends 71 minutes after the first.
        for t in [(1 << 32) | 1, (1 << 33) - 1] {
            push(&mut queue, &mut shadow, t);
        }
        assert_eq!(queue.pop(), Some((SimTime((1 << 32) | 1), 0)));
        shadow.pop_first();
        let mut now = (1 << 32) | 1;
        let mut longest = 0;
        let mut longest_small = 0;
        let mut grew_past_its_size = false;
        for step in 0..400_000u64 {
            // Pushes outnumber pops 3 to 2 early on, so the run lengthens, then match them; a tie on every
            // seventh step.
            let pushes = if step < 100_000 { 3 } else { 2 };
            for k in 0..pushes {
                let t = if k == 0 && step % 7 == 0 { now } else { now + rng.random_range(1..5_000_000) };
                push(&mut queue, &mut shadow, t);
            }
            for _ in 0..2 {
                let ((t, _), id) = shadow.pop_first().expect("shadow non-empty");
                assert_eq!(queue.pop(), Some((SimTime(t), id)), "step {step}");
                now = t;
            }
            let run = queue.current.len() - queue.head;
            longest = longest.max(run);
            if queue.len() < LARGE_QUEUE {
                longest_small = longest_small.max(run);
                grew_past_its_size |= run > queue.run_size();
            }
        }
        assert!(longest_small <= 2 * RUN, "the run reached {longest_small} items in a small queue");
        assert!(longest <= 2 * LARGE_RUN, "the run reached {longest} items in a large queue");
        assert!(grew_past_its_size, "the run never grew past a bucket's size in a small queue: the test misses its case");
        while let Some(((t, _), id)) = shadow.pop_first() {
            assert_eq!(queue.pop(), Some((SimTime(t), id)));
        }
        assert!(queue.is_empty());
    }

    #[test]
    fn the_radix_sort_orders_runs_as_a_sort_of_the_integers_does() {
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(11);
        let mut scratch = Vec::new();
        for offset_bits in [1, 7, 8, 9, 16, 23, 40, 64 - RUN_INDEX_BITS] {
            for n in [RADIX_MIN, 300, LARGE_RUN] {
                // Few distinct offsets (ties, which the index must keep in order) or many.
                for distinct in [3u64, u64::MAX] {
                    let top = (1u64 << offset_bits) - 1;
                    let mut keys: Vec<u64> =
                        (0..n as u64).map(|at| ((rng.random_range(0..=top) % distinct.min(top + 1)) << RUN_INDEX_BITS) | at).collect();
                    let mut expected = keys.clone();
                    expected.sort_unstable();
                    radix_sort(&mut keys, &mut scratch, offset_bits);
                    assert_eq!(keys, expected, "{offset_bits} bits, {n} items, {distinct} distinct");
                }
            }
        }
    }

    #[test]
    fn equal_times_pop_in_insertion_order() {
        let mut q = EventQueue::new();
        for i in 0..100 {
            q.push(SimTime(7), i);
        }
        q.push(SimTime(3), 1000);
        assert_eq!(q.pop(), Some((SimTime(3), 1000)));
        // Ties scheduled while popping at the same instant also go last.
        q.push(SimTime(7), 100);
        for i in 0..=100 {
            assert_eq!(q.pop(), Some((SimTime(7), i)));
        }
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn peek_ahead_tells_the_order_of_the_next_pops() {
        let mut q = EventQueue::new();
        // Keys 16..32 share a bucket, which the first pop sorts into the run.
        for (t, e) in [(25, 'a'), (17, 'b'), (20, 'c'), (17, 'd'), (19, 'e')] {
            q.push(SimTime(t), e);
        }
        assert_eq!(q.peek_ahead(0), None, "nothing sorted before the first pop");
        assert_eq!(q.pop(), Some((SimTime(17), 'b')));
        let ahead: Vec<char> = (0..4).filter_map(|k| q.peek_ahead(k).copied()).collect();
        assert_eq!(ahead, ['d', 'e', 'c', 'a']);
        // A push inside the run goes after its equals; beyond the run, the last of it is given.
        q.push(SimTime(19), 'f');
        assert_eq!(q.peek_ahead(2), Some(&'f'));
        assert_eq!(q.peek_ahead(99), Some(&'a'));
        let rest: Vec<char> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(rest, ['d', 'e', 'f', 'c', 'a']);
    }

    #[test]
    fn peek_time_does_not_consume() {
        let mut q = EventQueue::new();
        assert_eq!(q.peek_time(), None);
        q.push(SimTime(40), 'a');
        q.push(SimTime(20), 'b');
        assert_eq!(q.peek_time(), Some(SimTime(20)));
        assert_eq!(q.len(), 2);
        assert_eq!(q.pop(), Some((SimTime(20), 'b')));
        assert_eq!(q.pop(), Some((SimTime(40), 'a')));
    }
}
