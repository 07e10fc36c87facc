//! The script: an ordered list of steps consumed by upstream calls, plus a fallback reply.

use crate::types::{Chunking, Reply, Step};

/// The answer chosen for one request, with its pacing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Pick {
    pub reply: Reply,
    pub delay_ms: u64,
    pub stall_ms: u64,
    pub chunking: Chunking,
    pub headers: Vec<(String, String)>,
}

impl Pick {
    /// An unpaced pick, used for the fallback and for routes that never consume a step.
    pub fn plain(reply: Reply) -> Pick {
        Pick {
            reply,
            delay_ms: 0,
            stall_ms: 0,
            chunking: Chunking::Whole,
            headers: Vec::new(),
        }
    }
}

#[derive(Debug)]
pub(crate) struct Script {
    /// Each step with its remaining uses (`None` = unlimited).
    steps: Vec<(Step, Option<usize>)>,
    fallback: Reply,
}

impl Default for Script {
    /// What a fresh mock answers: always a plain text reply.
    fn default() -> Script {
        Script::new(Vec::new(), Reply::Ok(crate::types::Kind::Text))
    }
}

impl Script {
    pub fn new(steps: Vec<Step>, fallback: Reply) -> Script {
        let steps = steps.into_iter().map(|s| (s.clone(), s.times)).collect();
        Script { steps, fallback }
    }

    /// Consumes the first step that accepts `credential` and has uses left; else the fallback.
    /// A step with a credential filter never matches a request without a credential.
    pub fn next(&mut self, credential: Option<&str>) -> Pick {
        for (step, left) in &mut self.steps {
            if left == &Some(0) {
                continue;
            }
            if let Some(want) = &step.credential {
                if credential != Some(want.as_str()) {
                    continue;
                }
            }
            if let Some(n) = left {
                *n -= 1;
            }
            return Pick {
                reply: step.reply.clone(),
                delay_ms: step.delay_ms,
                stall_ms: step.stall_ms,
                chunking: step.chunking,
                headers: step.headers.clone(),
            };
        }
        Pick::plain(self.fallback.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Kind;

    fn err(status: u16) -> Reply {
        Reply::Error { status, body: None }
    }

    #[test]
    fn empty_script_answers_the_fallback() {
        let mut s = Script::default();
        assert_eq!(s.next(None).reply, Reply::Ok(Kind::Text));
        assert_eq!(s.next(Some("k")).reply, Reply::Ok(Kind::Text));
    }

    #[test]
    fn steps_are_consumed_in_order_then_fallback() {
        let mut s = Script::new(
            vec![
                Step::reply(err(429)).times(2),
                Step::reply(err(500)).times(1),
            ],
            Reply::Ok(Kind::Tool),
        );
        let got: Vec<Reply> = (0..5).map(|_| s.next(Some("a")).reply).collect();
        assert_eq!(
            got,
            vec![
                err(429),
                err(429),
                err(500),
                Reply::Ok(Kind::Tool),
                Reply::Ok(Kind::Tool)
            ]
        );
    }

    #[test]
    fn unlimited_step_never_runs_out() {
        let mut s = Script::new(vec![Step::reply(err(503))], Reply::Ok(Kind::Text));
        for _ in 0..10 {
            assert_eq!(s.next(None).reply, err(503));
        }
    }

    #[test]
    fn credential_filter_selects_and_skips() {
        let mut s = Script::new(
            vec![
                Step::reply(err(401)).credential("bad").times(1),
                Step::reply(Reply::Ok(Kind::Mixed)).times(1),
            ],
            Reply::Ok(Kind::Text),
        );
        // "good" skips the filtered step and consumes the second one.
        assert_eq!(s.next(Some("good")).reply, Reply::Ok(Kind::Mixed));
        // No credential never matches a filter.
        assert_eq!(s.next(None).reply, Reply::Ok(Kind::Text));
        assert_eq!(s.next(Some("bad")).reply, err(401));
        assert_eq!(s.next(Some("bad")).reply, Reply::Ok(Kind::Text));
    }

    #[test]
    fn zero_times_never_matches_and_pacing_is_carried() {
        let mut s = Script::new(
            vec![
                Step::reply(err(500)).times(0),
                Step::reply(Reply::Hang)
                    .delay_ms(5)
                    .stall_ms(7)
                    .chunking(Chunking::Split)
                    .header("x-a", "1"),
            ],
            Reply::Ok(Kind::Text),
        );
        let p = s.next(None);
        assert_eq!(p.reply, Reply::Hang);
        assert_eq!(
            (p.delay_ms, p.stall_ms, p.chunking),
            (5, 7, Chunking::Split)
        );
        assert_eq!(p.headers, vec![("x-a".to_string(), "1".to_string())]);
    }
}
