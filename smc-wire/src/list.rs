//! `Bounded<T, N>`: an inline list of at most `N` items, for the lists the kernel caps
//! (GID/CHID entries, UEIDs, IPv6 prefixes: 8 each, reference §3). No allocation; the wire count
//! is kept separately by the owning representation, so a count above `N` stays representable.

use core::fmt;

/// An inline list holding up to `N` copies of `T`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Bounded<T: Copy + Default, const N: usize> {
    items: [T; N],
    len: usize,
}

impl<T: Copy + Default, const N: usize> Default for Bounded<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Copy + Default, const N: usize> Bounded<T, N> {
    /// The capacity.
    pub const CAPACITY: usize = N;

    /// An empty list.
    pub fn new() -> Self {
        Bounded {
            items: [T::default(); N],
            len: 0,
        }
    }

    /// Builds a list from a slice; `None` if the slice is longer than `N`.
    pub fn from_slice(items: &[T]) -> Option<Self> {
        let mut list = Self::new();
        for item in items {
            list.push(*item).ok()?;
        }
        Some(list)
    }

    /// Appends an item; gives it back when the list is full.
    pub fn push(&mut self, item: T) -> Result<(), T> {
        match self.items.get_mut(self.len) {
            Some(slot) => {
                *slot = item;
                self.len += 1;
                Ok(())
            }
            None => Err(item),
        }
    }

    /// Removes all items.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Number of items held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no item is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True when `N` items are held.
    pub fn is_full(&self) -> bool {
        self.len == N
    }

    /// The items as a slice.
    pub fn as_slice(&self) -> &[T] {
        self.items.get(..self.len).unwrap_or(&[])
    }

    /// The items as a mutable slice.
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        let len = self.len;
        self.items.get_mut(..len).unwrap_or(&mut [])
    }

    /// Iterates over the items.
    pub fn iter(&self) -> core::slice::Iter<'_, T> {
        self.as_slice().iter()
    }
}

impl<T: Copy + Default + fmt::Debug, const N: usize> fmt::Debug for Bounded<T, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

impl<'a, T: Copy + Default, const N: usize> IntoIterator for &'a Bounded<T, N> {
    type Item = &'a T;
    type IntoIter = core::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

#[cfg(feature = "serde")]
impl<T: Copy + Default + serde::Serialize, const N: usize> serde::Serialize for Bounded<T, N> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.as_slice())
    }
}

#[cfg(feature = "arbitrary")]
impl<'a, T, const N: usize> arbitrary::Arbitrary<'a> for Bounded<T, N>
where
    T: Copy + Default + arbitrary::Arbitrary<'a>,
{
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Self> {
        let n = u.int_in_range(0..=N)?;
        let mut list = Self::new();
        for _ in 0..n {
            // cannot overflow: n <= N
            let _ = list.push(T::arbitrary(u)?);
        }
        Ok(list)
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn push_until_full() {
        let mut l: Bounded<u8, 2> = Bounded::new();
        assert!(l.push(1).is_ok());
        assert!(l.push(2).is_ok());
        assert_eq!(l.push(3), Err(3));
        assert_eq!(l.as_slice(), &[1, 2]);
        assert!(l.is_full());
        assert!(Bounded::<u8, 2>::from_slice(&[1, 2, 3]).is_none());
    }
}
