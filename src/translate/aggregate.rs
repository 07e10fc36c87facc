//! Between streams and whole answers: [`Aggregator`] folds IR stream events into a [`Response`] (for a
//! non-streaming client of an upstream that only streams, like Codex), and [`events_from_response`] replays
//! a whole answer as stream events (for a streaming client whose upstream answered in one piece).

use std::collections::BTreeMap;

use super::ir::{BlockStart, Delta, Event, Part, Response, StopReason, Usage};

enum Block {
    Text(String),
    Reasoning {
        text: String,
        signature: Option<String>,
        redacted: bool,
        id: Option<String>,
    },
    ToolCall {
        id: String,
        name: String,
        arguments: String,
        signature: Option<String>,
    },
}

/// Collects a stream into a complete answer.
#[derive(Default)]
pub struct Aggregator {
    id: String,
    model: String,
    created: u64,
    start_usage: Option<Usage>,
    blocks: BTreeMap<usize, Block>,
    finish: Option<(StopReason, Option<String>, Usage)>,
    error: Option<String>,
}

impl Aggregator {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, event: &Event) {
        match event {
            Event::Start {
                id,
                model,
                created,
                usage,
            } => {
                self.id.clone_from(id);
                self.model.clone_from(model);
                self.created = *created;
                self.start_usage = *usage;
            }
            Event::BlockStart { index, block } => {
                let b = match block {
                    BlockStart::Text => Block::Text(String::new()),
                    BlockStart::Reasoning { id, redacted } => Block::Reasoning {
                        text: String::new(),
                        signature: None,
                        redacted: *redacted,
                        id: id.clone(),
                    },
                    BlockStart::ToolCall { id, name } => Block::ToolCall {
                        id: id.clone(),
                        name: name.clone(),
                        arguments: String::new(),
                        signature: None,
                    },
                };
                self.blocks.insert(*index, b);
            }
            Event::Delta { index, delta } => {
                let Some(block) = self.blocks.get_mut(index) else {
                    return;
                };
                match (block, delta) {
                    (Block::Text(t), Delta::Text(s)) => t.push_str(s),
                    (Block::Reasoning { text, .. }, Delta::Reasoning(s) | Delta::Text(s)) => {
                        text.push_str(s)
                    }
                    (Block::Reasoning { signature, .. }, Delta::Signature(s))
                    | (Block::ToolCall { signature, .. }, Delta::Signature(s)) => {
                        signature.get_or_insert_with(String::new).push_str(s)
                    }
                    (Block::ToolCall { arguments, .. }, Delta::ToolArguments(s)) => {
                        arguments.push_str(s)
                    }
                    _ => {}
                }
            }
            Event::BlockStop { .. } => {}
            Event::Finish {
                stop,
                stop_sequence,
                usage,
            } => self.finish = Some((stop.clone(), stop_sequence.clone(), *usage)),
            Event::Error { message } => self.error = Some(message.clone()),
        }
    }

    /// The complete answer, or the upstream's error message when the stream failed or never finished.
    pub fn finish(self) -> Result<Response, String> {
        if let Some(message) = self.error {
            return Err(message);
        }
        let Some((stop, stop_sequence, mut usage)) = self.finish else {
            return Err("the upstream stream ended before the answer was complete".into());
        };
        if usage == Usage::default() {
            usage = self.start_usage.unwrap_or_default();
        }
        let content = self
            .blocks
            .into_values()
            .map(|b| match b {
                Block::Text(text) => Part::Text { text },
                Block::Reasoning {
                    text,
                    signature,
                    redacted,
                    id,
                } => Part::Reasoning {
                    text,
                    signature,
                    redacted,
                    id,
                },
                Block::ToolCall {
                    id,
                    name,
                    arguments,
                    signature,
                } => Part::ToolCall {
                    id,
                    name,
                    arguments,
                    signature,
                },
            })
            .collect();
        Ok(Response {
            id: self.id,
            model: self.model,
            content,
            stop,
            stop_sequence,
            usage,
            created: self.created,
        })
    }
}

/// A whole answer as the stream that would have produced it.
pub fn events_from_response(resp: &Response) -> Vec<Event> {
    let mut events = vec![Event::Start {
        id: resp.id.clone(),
        model: resp.model.clone(),
        created: resp.created,
        usage: None,
    }];
    for (index, part) in resp.content.iter().enumerate() {
        let (block, deltas) = match part {
            Part::Text { text } => (BlockStart::Text, vec![Delta::Text(text.clone())]),
            Part::Reasoning {
                text,
                signature,
                redacted,
                id,
            } => {
                let mut d = Vec::new();
                if !text.is_empty() {
                    d.push(Delta::Reasoning(text.clone()));
                }
                if let Some(sig) = signature {
                    d.push(Delta::Signature(sig.clone()));
                }
                (
                    BlockStart::Reasoning {
                        id: id.clone(),
                        redacted: *redacted,
                    },
                    d,
                )
            }
            Part::ToolCall {
                id,
                name,
                arguments,
                signature,
            } => {
                let mut d = vec![Delta::ToolArguments(arguments.clone())];
                if let Some(sig) = signature {
                    d.push(Delta::Signature(sig.clone()));
                }
                (
                    BlockStart::ToolCall {
                        id: id.clone(),
                        name: name.clone(),
                    },
                    d,
                )
            }
            // Answers carry no images, documents or tool results in any supported format.
            Part::Image { .. } | Part::Document { .. } | Part::ToolResult { .. } => continue,
        };
        events.push(Event::BlockStart { index, block });
        events.extend(
            deltas
                .into_iter()
                .map(|delta| Event::Delta { index, delta }),
        );
        events.push(Event::BlockStop { index });
    }
    events.push(Event::Finish {
        stop: resp.stop.clone(),
        stop_sequence: resp.stop_sequence.clone(),
        usage: resp.usage,
    });
    events
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::translate::test_support::{mock_reasoning, paris_weather_call, text_part};

    fn sample() -> Response {
        Response {
            id: "msg_1".into(),
            model: "m".into(),
            content: vec![
                mock_reasoning(Some("c2lnbmF0dXJl+/="), None),
                text_part("Hello from mock"),
                paris_weather_call("toolu_1"),
            ],
            stop: StopReason::ToolUse,
            stop_sequence: None,
            usage: Usage {
                input: 11,
                output: 7,
                cache_read: 5,
                cache_write: 0,
                reasoning: 3,
            },
            created: 1_700_000_000,
        }
    }

    #[test]
    fn a_response_survives_a_trip_through_events() {
        let resp = sample();
        let mut agg = Aggregator::new();
        for e in events_from_response(&resp) {
            agg.push(&e);
        }
        assert_eq!(agg.finish().unwrap(), resp);
    }

    #[test]
    fn fragments_join_and_errors_or_truncation_are_failures() {
        let mut agg = Aggregator::new();
        agg.push(&Event::BlockStart {
            index: 0,
            block: BlockStart::ToolCall {
                id: "c".into(),
                name: "f".into(),
            },
        });
        for frag in [r#"{"city""#, r#":"Rome"}"#] {
            agg.push(&Event::Delta {
                index: 0,
                delta: Delta::ToolArguments(frag.into()),
            });
        }
        let mut truncated = Aggregator::new();
        truncated.push(&Event::BlockStart {
            index: 0,
            block: BlockStart::Text,
        });
        assert!(truncated.finish().is_err());
        agg.push(&Event::Finish {
            stop: StopReason::ToolUse,
            stop_sequence: None,
            usage: Usage::default(),
        });
        let resp = agg.finish().unwrap();
        assert_eq!(
            resp.content,
            vec![Part::ToolCall {
                id: "c".into(),
                name: "f".into(),
                arguments: r#"{"city":"Rome"}"#.into(),
                signature: None
            }]
        );
        let mut failed = Aggregator::new();
        failed.push(&Event::Error {
            message: "overloaded".into(),
        });
        assert_eq!(failed.finish().unwrap_err(), "overloaded");
    }
}
