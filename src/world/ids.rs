//! Typed identities of the world's parts, and vectors indexed by them.
//!
//! A platform, a pool, a (cohort, platform) group, an attack on a platform and a virtual class are each
//! numbered from 0 in the order the scenario lists them; each number has its own type, so a pool index
//! cannot index the platforms, and a vector says by its type what indexes it ([`IdVec`]) instead of a
//! comment saying "same index as". Platform `p`'s application pool is pool `p` ([`PlatformId::pool`]);
//! dependency pools follow the platforms'.

use std::marker::PhantomData;
use std::ops::{Index, IndexMut};

/// An identity usable as an index.
pub trait Id: Copy + Eq + std::fmt::Debug {
    /// The identity of index `i`.
    fn from_index(i: usize) -> Self;
    /// Its index.
    fn index(self) -> usize;
}

macro_rules! id {
    ($(#[doc = $doc:literal])* $name:ident($repr:ty)) => {
        $(#[doc = $doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(transparent)]
        pub struct $name(pub $repr);

        impl Id for $name {
            #[inline(always)]
            fn from_index(i: usize) -> Self {
                debug_assert!(i <= <$repr>::MAX as usize, concat!(stringify!($name), " out of range"));
                $name(i as $repr)
            }
            #[inline(always)]
            fn index(self) -> usize {
                self.0 as usize
            }
        }
    };
}

id! {
    /// A platform (16 bits: a scenario has at most `scenario::MAX_POOLS` pools, so that a request, which
    /// carries its platform and pool, fits a cache line).
    PlatformId(u16)
}
id! {
    /// A pool: the platforms' application pools first (pool `p` is platform `p`'s), then the dependencies.
    PoolId(u16)
}
id! {
    /// A (cohort, platform) group, or the group of a platform's class participants.
    GroupId(u32)
}
id! {
    /// An attack, numbered within its platform's attacks.
    AttackId(u32)
}
id! {
    /// A virtual class, numbered within its platform's classes.
    ClassId(u32)
}

impl PlatformId {
    /// The platform's application pool.
    #[inline(always)]
    pub fn pool(self) -> PoolId {
        PoolId(self.0)
    }
}

impl PoolId {
    /// The platform whose application pool this is, if it is one (not a dependency) of `platforms`.
    #[inline]
    pub fn platform(self, platforms: usize) -> Option<PlatformId> {
        (self.index() < platforms).then_some(PlatformId(self.0))
    }
}

/// A vector indexed by the identity `I` only.
#[derive(Clone, Debug, PartialEq)]
pub struct IdVec<I, T> {
    items: Vec<T>,
    id: PhantomData<fn(I) -> I>,
}

impl<I, T> Default for IdVec<I, T> {
    fn default() -> Self {
        IdVec { items: Vec::new(), id: PhantomData }
    }
}

impl<I: Id, T> IdVec<I, T> {
    /// The items, in identity order.
    pub fn from_vec(items: Vec<T>) -> Self {
        IdVec { items, id: PhantomData }
    }

    /// How many.
    #[inline]
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are none.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The item of `id`, if there is one.
    #[inline]
    pub fn get(&self, id: I) -> Option<&T> {
        self.items.get(id.index())
    }

    /// The item of `id`, if there is one, mutably.
    #[inline]
    pub fn get_mut(&mut self, id: I) -> Option<&mut T> {
        self.items.get_mut(id.index())
    }

    /// The identities, in order.
    pub fn ids(&self) -> impl Iterator<Item = I> + use<I, T> {
        (0..self.items.len()).map(I::from_index)
    }

    /// The items, in identity order.
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.items.iter()
    }

    /// The items, in identity order, mutably.
    pub fn iter_mut(&mut self) -> std::slice::IterMut<'_, T> {
        self.items.iter_mut()
    }

    /// Each identity with its item.
    pub fn iter_ids(&self) -> impl Iterator<Item = (I, &T)> {
        self.items.iter().enumerate().map(|(i, t)| (I::from_index(i), t))
    }

    /// Each identity with its item, mutably.
    pub fn iter_ids_mut(&mut self) -> impl Iterator<Item = (I, &mut T)> {
        self.items.iter_mut().enumerate().map(|(i, t)| (I::from_index(i), t))
    }
}

impl<I: Id, T> Index<I> for IdVec<I, T> {
    type Output = T;
    #[inline(always)]
    fn index(&self, id: I) -> &T {
        &self.items[id.index()]
    }
}

impl<I: Id, T> IndexMut<I> for IdVec<I, T> {
    #[inline(always)]
    fn index_mut(&mut self, id: I) -> &mut T {
        &mut self.items[id.index()]
    }
}

impl<I: Id, T> IntoIterator for IdVec<I, T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl<'a, I: Id, T> IntoIterator for &'a IdVec<I, T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

impl<'a, I: Id, T> IntoIterator for &'a mut IdVec<I, T> {
    type Item = &'a mut T;
    type IntoIter = std::slice::IterMut<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter_mut()
    }
}

impl<I: Id, T> FromIterator<T> for IdVec<I, T> {
    fn from_iter<It: IntoIterator<Item = T>>(iter: It) -> Self {
        IdVec::from_vec(iter.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vector_is_indexed_by_its_identity_and_enumerates_them() {
        let v: IdVec<PoolId, &str> = ["a", "b", "c"].into_iter().collect();
        assert_eq!(v[PoolId(1)], "b");
        assert_eq!(v.ids().collect::<Vec<_>>(), vec![PoolId(0), PoolId(1), PoolId(2)]);
        assert_eq!(v.get(PoolId(3)), None);
        assert_eq!(PlatformId(2).pool(), PoolId(2));
        assert_eq!(PoolId(2).platform(2), None);
        assert_eq!(PoolId(1).platform(2), Some(PlatformId(1)));
    }
}
