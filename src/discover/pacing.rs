//! Rate caps: a [`Pacer`] hands out time slots at most `rate` per second.
//!
//! Discovery uses one global pacer for new connections (`--rate`) and one per
//! host for requests (`--host-rate`). Slots are reserved under a lock and then
//! awaited, so concurrent callers never share a slot and the cap holds exactly.

use std::{sync::Mutex, time::Duration};

use tokio::time::Instant;

/// Spaces events at least `interval` apart.
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    next_slot: Mutex<Option<Instant>>,
}

impl Pacer {
    /// At most `rate` events per second (`rate` 0 is treated as 1).
    pub fn per_second(rate: u32) -> Pacer {
        Pacer {
            interval: Duration::from_secs(1) / rate.max(1),
            next_slot: Mutex::new(None),
        }
    }

    /// The spacing between events.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Waits for the next free slot and takes it.
    pub async fn wait(&self) {
        let slot = {
            let mut next = self
                .next_slot
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let now = Instant::now();
            let slot = match *next {
                Some(next_slot) if next_slot > now => next_slot,
                _ => now,
            };
            *next = Some(slot + self.interval);
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn slots_are_spaced_by_the_interval_even_for_concurrent_callers() {
        let pacer = std::sync::Arc::new(Pacer::per_second(40));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let pacer = pacer.clone();
            tasks.push(tokio::spawn(async move {
                pacer.wait().await;
                Instant::now()
            }));
        }
        let mut times = Vec::new();
        for task in tasks {
            times.push(task.await.unwrap() - start);
        }
        times.sort();
        for pair in times.windows(2) {
            assert!(pair[1] - pair[0] >= Duration::from_millis(25), "{times:?}");
        }
        assert_eq!(times[0], Duration::ZERO, "the first slot is immediate");
    }
}
