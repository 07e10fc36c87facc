//! The streamed response body: writes paced like a real upstream, then a clean end, an abrupt
//! connection drop, or an endless hang.

use std::collections::VecDeque;
use std::io;
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use tokio::sync::watch;

use crate::recorded::ReplyGuard;

/// Gap before every write, so each one leaves in its own TCP segment / HTTP chunk and a proxy
/// that buffers instead of flushing per event is visible in timing tests.
const WRITE_GAP: Duration = Duration::from_millis(1);

/// What happens after the last write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum End {
    /// Normal end of body (chunked terminator).
    Finish,
    /// The connection is dropped without a terminator (hyper aborts on a body error).
    Abort,
    /// Nothing more is ever sent; the body stays open until the client leaves or the mock stops.
    Hang,
}

struct State {
    writes: VecDeque<Bytes>,
    written: usize,
    stall: Duration,
    end: End,
    done: bool,
    guard: ReplyGuard,
    shutdown: watch::Receiver<bool>,
}

impl State {
    /// Sleeps unless the mock shuts down first; returns false on shutdown.
    async fn pause(&mut self, d: Duration) -> bool {
        tokio::select! {
            _ = tokio::time::sleep(d) => true,
            _ = self.shutdown.wait_for(|stop| *stop) => false,
        }
    }

    /// Ends the body with an error, which makes hyper close the connection mid-body.
    fn abort(mut self, why: &str) -> Option<(io::Result<Bytes>, State)> {
        self.guard.finish();
        self.done = true;
        Some((Err(io::Error::other(why.to_string())), self))
    }
}

/// A body that sends `writes` one by one (1 ms apart, `stall` before the second), then `end`s.
/// `guard` is finished when the reply is complete; if hyper drops the body earlier because the
/// client went away, the guard records the disconnect.
pub(crate) fn paced_body(
    writes: Vec<Bytes>,
    stall: Duration,
    end: End,
    guard: ReplyGuard,
    shutdown: watch::Receiver<bool>,
) -> Body {
    let state = State {
        writes: writes.into(),
        written: 0,
        stall,
        end,
        done: false,
        guard,
        shutdown,
    };
    let stream = futures_util::stream::unfold(state, |mut st| async move {
        if st.done {
            return None;
        }
        if let Some(write) = st.writes.pop_front() {
            let gap = if st.written == 1 {
                st.stall.max(WRITE_GAP)
            } else {
                WRITE_GAP
            };
            if !st.pause(gap).await {
                return st.abort("mock upstream stopped");
            }
            st.written += 1;
            if st.writes.is_empty() && st.end == End::Finish {
                st.guard.finish();
            }
            return Some((Ok(write), st));
        }
        match st.end {
            End::Finish => {
                st.guard.finish();
                None
            }
            End::Abort => {
                // Let the last write reach the client before the connection goes away.
                st.pause(WRITE_GAP).await;
                st.abort("mock upstream cut the stream")
            }
            End::Hang => {
                // Resolves only on shutdown (or when the mock is dropped); until then the client
                // sees an open, silent body. If the client leaves first, hyper drops this future
                // and the guard records the disconnect.
                let _ = st.shutdown.wait_for(|stop| *stop).await;
                st.abort("mock upstream stopped")
            }
        }
    });
    Body::from_stream(stream)
}
