//! The request budget: `[target] max_requests` split into per-check allowances.
//!
//! The runner reserves each check's share from its plan before the check
//! starts; the client takes one unit per request and refuses the request (it
//! is never sent) once the allowance is spent.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// The whole run's budget.
#[derive(Debug)]
pub struct Budget {
    max: u64,
    reserved: Mutex<u64>,
}

/// One check's share of the budget.
#[derive(Debug)]
pub struct Allowance {
    limit: u64,
    used: AtomicU64,
}

impl Budget {
    pub fn new(max: u64) -> Budget {
        Budget {
            max,
            reserved: Mutex::new(0),
        }
    }

    pub fn max(&self) -> u64 {
        self.max
    }

    /// Reserves `n` requests, or says how many are left.
    pub fn reserve(&self, n: u64) -> Result<Allowance, u64> {
        let mut reserved = match self.reserved.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let left = self.max.saturating_sub(*reserved);
        if n > left {
            return Err(left);
        }
        *reserved += n;
        Ok(Allowance {
            limit: n,
            used: AtomicU64::new(0),
        })
    }
}

impl Allowance {
    /// An allowance outside any budget (tests, and checks that send nothing).
    pub fn fixed(limit: u64) -> Allowance {
        Allowance {
            limit,
            used: AtomicU64::new(0),
        }
    }

    /// Takes one request; `false` means the allowance is spent.
    pub fn take(&self) -> bool {
        self.used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |u| {
                (u < self.limit).then_some(u + 1)
            })
            .is_ok()
    }

    pub fn used(&self) -> u64 {
        self.used.load(Ordering::SeqCst)
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_never_exceed_the_budget() {
        let b = Budget::new(10);
        let a = b.reserve(6).unwrap();
        assert_eq!(b.reserve(5).unwrap_err(), 4);
        let c = b.reserve(4).unwrap();
        assert!(b.reserve(1).is_err());
        for _ in 0..6 {
            assert!(a.take());
        }
        assert!(!a.take());
        assert_eq!(a.used(), 6);
        assert_eq!(c.limit(), 4);
    }
}
