//! Token buckets: the per-connection message and op limits and the per-member pixel budget.

use std::time::Instant;

/// A token bucket: `rate` tokens a second, holding at most `burst`. It may be charged into debt
/// (for costs known only after the fact); nothing more is allowed until it refills above zero.
#[derive(Debug, Clone)]
pub struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    /// A full bucket.
    pub fn new(rate: f64, burst: f64) -> Bucket {
        Bucket {
            rate,
            burst,
            tokens: burst,
            last: Instant::now(),
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
    }

    /// Takes a token if there is one.
    pub fn take(&mut self, now: Instant) -> bool {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Whether the bucket is in debt (below zero) now.
    pub fn in_debt(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens < 0.0
    }

    /// Charges `amount` tokens, going into debt if need be.
    pub fn charge(&mut self, now: Instant, amount: f64) {
        self.refill(now);
        self.tokens -= amount;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn refills_at_its_rate_up_to_the_burst() {
        let t = Instant::now();
        let mut b = Bucket::new(10.0, 2.0);
        assert!(b.take(t) && b.take(t) && !b.take(t));
        assert!(b.take(t + Duration::from_millis(100)));
        assert!(!b.take(t + Duration::from_millis(100)));
        // A long pause refills only up to the burst.
        let later = t + Duration::from_secs(60);
        assert!(b.take(later) && b.take(later) && !b.take(later));
    }

    #[test]
    fn debt_blocks_until_repaid() {
        let t = Instant::now();
        let mut b = Bucket::new(100.0, 100.0);
        assert!(!b.in_debt(t));
        b.charge(t, 250.0);
        assert!(b.in_debt(t));
        assert!(b.in_debt(t + Duration::from_millis(1400)));
        assert!(!b.in_debt(t + Duration::from_millis(1600)));
    }
}
