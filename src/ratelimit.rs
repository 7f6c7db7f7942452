//! Fixed-window request counting per key (an API key, a client address), in
//! the memory of this instance, on the injected clock.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

pub struct RateLimiter {
    limit: u32,
    window: Duration,
    counts: Mutex<HashMap<String, (DateTime<Utc>, u32)>>,
}

impl RateLimiter {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window,
            counts: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request for `key`: `Ok` while within the limit, else the
    /// seconds until the window ends.
    pub fn check(&self, key: &str, now: DateTime<Utc>) -> Result<(), u64> {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if counts.len() > 100_000 {
            // Forget finished windows rather than grow without bound.
            counts.retain(|_, (start, _)| now - *start < self.window);
        }
        let entry = counts.entry(key.to_string()).or_insert((now, 0));
        if now - entry.0 >= self.window || now < entry.0 {
            *entry = (now, 0);
        }
        if entry.1 >= self.limit {
            let left = entry.0 + self.window - now;
            return Err(left.num_seconds().max(1) as u64);
        }
        entry.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_holds_within_a_window_and_resets_after() {
        let limiter = RateLimiter::new(3, Duration::minutes(1));
        let t = Utc::now();
        for _ in 0..3 {
            assert!(limiter.check("k", t).is_ok());
        }
        assert_eq!(limiter.check("k", t + Duration::seconds(20)), Err(40));
        assert!(limiter.check("other", t).is_ok(), "keys count apart");
        assert!(limiter.check("k", t + Duration::minutes(1)).is_ok());
    }
}
