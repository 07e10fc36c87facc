//! Wall-clock time for expiry decisions, behind a trait so tests can drive it with tokio's paused
//! clock. Production uses the system clock: the monotonic clock stops while a laptop sleeps, and a
//! token's expiry is a wall-clock instant.

use time::OffsetDateTime;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> OffsetDateTime;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// Wall time that advances with tokio's clock (from the wall time at creation), so a test can
/// `tokio::time::pause()` and `advance` through hours of token lifetime.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    start: tokio::time::Instant,
    wall: OffsetDateTime,
}

impl TokioClock {
    pub fn new() -> Self {
        TokioClock {
            start: tokio::time::Instant::now(),
            wall: OffsetDateTime::now_utc(),
        }
    }
}

impl Default for TokioClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for TokioClock {
    fn now(&self) -> OffsetDateTime {
        self.wall + self.start.elapsed()
    }
}
