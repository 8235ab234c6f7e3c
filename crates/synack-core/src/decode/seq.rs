//! Sequence numbers compared with RFC 1982 serial arithmetic: a 32-bit
//! space that wraps, so `a < b` means "b is less than 2^31 ahead of a".

use std::cmp::Ordering;
use std::fmt;

/// A 32-bit TCP sequence or acknowledgment number (wraps at 2^32).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct SeqNum(pub u32);

impl SeqNum {
    /// `self + n`, wrapping.
    #[inline]
    pub fn plus(self, n: u32) -> SeqNum {
        SeqNum(self.0.wrapping_add(n))
    }

    /// `self - n`, wrapping.
    #[inline]
    pub fn minus(self, n: u32) -> SeqNum {
        SeqNum(self.0.wrapping_sub(n))
    }

    /// Distance from `base` to `self` (what Wireshark calls the relative number).
    #[inline]
    pub fn since(self, base: SeqNum) -> u32 {
        self.0.wrapping_sub(base.0)
    }

    /// Signed distance `self - other` in serial arithmetic.
    #[inline]
    pub fn diff(self, other: SeqNum) -> i32 {
        self.0.wrapping_sub(other.0) as i32
    }

    /// `self` is before `other` in sequence space.
    #[inline]
    pub fn lt(self, other: SeqNum) -> bool {
        self.diff(other) < 0
    }

    /// `self` is before or equal to `other` in sequence space.
    #[inline]
    pub fn le(self, other: SeqNum) -> bool {
        self.diff(other) <= 0
    }

    /// `self` is after `other` in sequence space.
    #[inline]
    pub fn gt(self, other: SeqNum) -> bool {
        self.diff(other) > 0
    }

    /// `self` is after or equal to `other` in sequence space.
    #[inline]
    pub fn ge(self, other: SeqNum) -> bool {
        self.diff(other) >= 0
    }

    /// Serial-arithmetic ordering. Not a total order (2^31 apart is
    /// undefined by RFC 1982; we call it "less"), hence not `Ord`.
    pub fn serial_cmp(self, other: SeqNum) -> Ordering {
        self.diff(other).cmp(&0)
    }
}

impl fmt::Display for SeqNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordering_across_the_wrap() {
        let near_end = SeqNum(u32::MAX - 10);
        let wrapped = near_end.plus(20);
        assert_eq!(wrapped, SeqNum(9));
        assert!(near_end.lt(wrapped));
        assert!(wrapped.gt(near_end));
        assert_eq!(wrapped.since(near_end), 20);
        assert_eq!(near_end.diff(wrapped), -20);
    }

    #[test]
    fn equal_is_le_and_ge() {
        let a = SeqNum(5);
        assert!(a.le(a) && a.ge(a) && !a.lt(a) && !a.gt(a));
        assert_eq!(a.serial_cmp(a), Ordering::Equal);
    }

    #[test]
    fn sub_wraps() {
        assert_eq!(SeqNum(0).minus(1), SeqNum(u32::MAX));
    }
}
