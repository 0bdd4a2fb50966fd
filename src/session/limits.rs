//! A connection's rate limits: messages and ops per second, and the count of refusals after
//! which it is closed.

use std::time::{Duration, Instant};

use crate::config::Config;
use crate::rate::Bucket;

/// A connection's rate limits and the count of refusals that gets it closed.
pub struct Limits {
    /// Every message costs a token.
    pub messages: Bucket,
    /// Every op costs another.
    pub ops: Bucket,
    /// Refusals in the current 5 s window.
    strikes: u32,
    /// Start of the window.
    window: Instant,
    /// When the last `rate_limited` error was sent (at most one a second).
    last_error: Option<Instant>,
}

impl Limits {
    /// Fresh buckets from the configured rates.
    pub fn new(config: &Config) -> Limits {
        Limits {
            messages: Bucket::new(config.messages_per_second, config.message_burst),
            ops: Bucket::new(config.ops_per_second, config.op_burst),
            strikes: 0,
            window: Instant::now(),
            last_error: None,
        }
    }

    /// Counts a refusal; returns (send an error now, close the connection).
    pub fn strike(&mut self, now: Instant, max: u32) -> (bool, bool) {
        if now.saturating_duration_since(self.window) > Duration::from_secs(5) {
            self.window = now;
            self.strikes = 0;
        }
        self.strikes += 1;
        let tell = self
            .last_error
            .is_none_or(|t| now.saturating_duration_since(t) >= Duration::from_secs(1));
        if tell {
            self.last_error = Some(now);
        }
        (tell, self.strikes > max)
    }
}
