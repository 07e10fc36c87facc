//! Any OpenAI Chat Completions server (`openai-compatibility`).

use super::{Auth, Outbound};
use crate::wire::Format;

pub(super) fn prepare(out: &Outbound<'_>) -> (String, Auth) {
    let path = match out.format {
        Format::OpenAiCompletions => "/completions",
        _ => "/chat/completions",
    };
    (path.to_string(), Auth::Bearer)
}
