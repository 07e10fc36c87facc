//! Gemini parts ↔ IR parts, shared by requests and answers.

use std::collections::HashMap;

use serde_json::value::RawValue;
use serde_json::Value;

use super::wire::{
    self, Args, BlobOut, FileDataOut, FunctionCallOut, FunctionResponseOut, PartOut,
};
use super::{ir, random_id};
use crate::translate::TranslateError;
use crate::wire::Format;

/// Assigns ids to calls and results that came without one.
#[derive(Debug, Default)]
pub(super) struct CallIds {
    /// Request history: ids must come out the same every turn, and results must find their calls.
    deterministic: bool,
    generated: usize,
    /// Calls not yet answered, oldest first: (name, id).
    pending: Vec<(String, String)>,
}

impl CallIds {
    pub fn for_request() -> Self {
        CallIds {
            deterministic: true,
            ..CallIds::default()
        }
    }

    pub fn for_answer() -> Self {
        CallIds::default()
    }

    fn generated_id(&mut self, name: &str) -> String {
        self.generated += 1;
        let mut id = String::from("call_");
        // Other formats restrict ids to [A-Za-z0-9_-] (Claude) and 64 characters (Codex).
        id.extend(name.chars().take(40).map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        }));
        id.push('_');
        id.push_str(&self.generated.to_string());
        id
    }

    pub fn for_call(&mut self, given: Option<String>, name: &str) -> String {
        let id = match given.filter(|id| !id.is_empty()) {
            Some(id) => id,
            None if self.deterministic => self.generated_id(name),
            None => random_id("call_"),
        };
        if self.deterministic {
            self.pending.push((name.to_string(), id.clone()));
        }
        id
    }

    pub fn for_result(&mut self, given: Option<String>, name: &str) -> String {
        let given = given.filter(|id| !id.is_empty());
        if let Some(id) = &given {
            if let Some(pos) = self.pending.iter().position(|(_, p)| p == id) {
                return self.pending.remove(pos).1;
            }
        }
        // Gemini's own rule: a response answers the oldest open call of the same name. This also covers
        // clients that invent an id for a call that came without one and put it only on the response
        // (Gemini CLI uses `<name>-<time>-<random>`).
        if let Some(pos) = self.pending.iter().position(|(n, _)| n == name) {
            return self.pending.remove(pos).1;
        }
        given.unwrap_or_else(|| {
            tracing::debug!(
                tool = name,
                "functionResponse answers no earlier functionCall"
            );
            self.generated_id(name)
        })
    }
}

/// Where parts are being decoded from: a client's request for an upstream speaking the given format
/// (unsupported content is refused, naming that format) or an upstream answer (skip what we cannot carry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    Request(Format),
    Answer,
}

fn media(mime_type: String, source: ir::MediaSource) -> ir::Part {
    if mime_type.starts_with("image/") {
        ir::Part::Image { source }
    } else {
        ir::Part::Document {
            source,
            title: None,
        }
    }
}

fn signature_only(signature: String) -> ir::Part {
    ir::Part::Reasoning {
        text: String::new(),
        signature: Some(signature),
        redacted: false,
        id: None,
    }
}

/// The function response object as the IR's tool-result text; `{"error": …}` marks a failure.
fn function_response_content(response: Option<Value>) -> (String, bool) {
    let response = response.unwrap_or_else(|| Value::Object(Default::default()));
    let is_error = response
        .get("error")
        .is_some_and(|e| !e.is_null() && *e != Value::Bool(false));
    (response.to_string(), is_error)
}

/// Appends the IR form of one content's parts to `out`.
pub(super) fn decode_parts(
    parts: Vec<wire::Part>,
    ids: &mut CallIds,
    source: Source,
    out: &mut Vec<ir::Part>,
) -> Result<(), TranslateError> {
    // Index in `out` of the thought run still accepting text (no signature yet).
    let mut open_run: Option<usize> = None;
    for part in parts {
        // A call is a call even if flagged as a thought.
        if part.thought == Some(true) && part.function_call.is_none() {
            let text = part.text.unwrap_or_default();
            let index = match open_run {
                Some(i) => i,
                None => {
                    out.push(ir::Part::Reasoning {
                        text: String::new(),
                        signature: None,
                        redacted: false,
                        id: None,
                    });
                    out.len() - 1
                }
            };
            if let Some(ir::Part::Reasoning {
                text: run,
                signature,
                ..
            }) = out.get_mut(index)
            {
                run.push_str(&text);
                if part.thought_signature.is_some() {
                    *signature = part.thought_signature;
                    open_run = None;
                } else {
                    open_run = Some(index);
                }
            }
            continue;
        }
        open_run = None;
        let wire::Part {
            text,
            thought_signature,
            inline_data,
            file_data,
            function_call,
            function_response,
            executable_code,
            code_execution_result,
            ..
        } = part;
        if let Some(call) = function_call {
            let arguments = match call.args {
                Some(args @ Value::Object(_)) => args.to_string(),
                None | Some(Value::Null) => "{}".to_string(),
                Some(_) if source != Source::Answer => {
                    return Err(TranslateError::Invalid(format!(
                        "functionCall {} has args that are not a JSON object",
                        call.name
                    )))
                }
                Some(other) => other.to_string(),
            };
            let id = ids.for_call(call.id, &call.name);
            out.push(ir::Part::ToolCall {
                id,
                name: call.name,
                arguments,
                signature: thought_signature,
            });
            continue;
        }
        if let Some(signature) = thought_signature {
            if function_response.is_some() {
                tracing::debug!("dropping a thoughtSignature on a functionResponse part");
            } else {
                out.push(signature_only(signature));
            }
        }
        if let Some(result) = function_response {
            let call_id = ids.for_result(result.id, &result.name);
            let (text, is_error) = function_response_content(result.response);
            let mut content = vec![ir::Part::Text { text }];
            for extra in result.parts {
                if let Some(blob) = extra.inline_data {
                    content.push(media(
                        blob.mime_type.clone(),
                        ir::MediaSource::Base64 {
                            media_type: blob.mime_type,
                            data: blob.data,
                        },
                    ));
                } else if let Some(file) = extra.file_data {
                    let mime = file
                        .mime_type
                        .unwrap_or_else(|| guess_mime(&file.file_uri).to_string());
                    content.push(media(mime, ir::MediaSource::Url(file.file_uri)));
                }
            }
            out.push(ir::Part::ToolResult {
                call_id,
                name: Some(result.name),
                content,
                is_error,
            });
        } else if let Some(text) = text {
            // Empty text carries nothing (a signature on it is kept above) and other formats reject it.
            if !text.is_empty() {
                out.push(ir::Part::Text { text });
            }
        } else if let Some(blob) = inline_data {
            out.push(media(
                blob.mime_type.clone(),
                ir::MediaSource::Base64 {
                    media_type: blob.mime_type,
                    data: blob.data,
                },
            ));
        } else if let Some(file) = file_data {
            let mime = file
                .mime_type
                .unwrap_or_else(|| guess_mime(&file.file_uri).to_string());
            out.push(media(mime, ir::MediaSource::Url(file.file_uri)));
        } else if executable_code.is_some() || code_execution_result.is_some() {
            if let Source::Request(target) = source {
                return Err(TranslateError::Unsupported {
                    feature: "Gemini code execution parts (executableCode)".to_string(),
                    target,
                });
            }
            tracing::debug!("dropping a code execution part from the upstream answer");
        }
    }
    Ok(())
}

/// A MIME type for a URL that came without one (`fileData` requires it).
pub(super) fn guess_mime(url: &str) -> &'static str {
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or(url)
        .to_ascii_lowercase();
    let ext = path.rsplit('.').next().unwrap_or("");
    match ext {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "heic" => "image/heic",
        "heif" => "image/heif",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        _ => "application/octet-stream",
    }
}

/// How to encode parts for one destination.
#[derive(Debug)]
pub(super) struct EncodeCtx<'a> {
    /// Tool-call id → name, for results that do not carry the name.
    pub names: HashMap<&'a str, &'a str>,
    /// Requests reject malformed tool arguments; answers already happened and carry on with `{}`.
    pub strict: bool,
    /// Mark a signature that has no part to ride on as a thought: a client (Gemini CLI) treats an empty
    /// non-thought text part as an invalid turn and drops it from history.
    pub lone_signature_as_thought: bool,
}

pub(super) fn call_args<'a>(
    arguments: &'a str,
    name: &str,
    strict: bool,
) -> Result<Args<'a>, TranslateError> {
    if arguments.trim().is_empty() {
        return Ok(Args::Empty);
    }
    match serde_json::from_str::<&RawValue>(arguments) {
        Ok(raw) if raw.get().starts_with('{') => Ok(Args::Raw(raw)),
        _ if strict => Err(TranslateError::Invalid(format!(
            "the arguments of the call to tool {name} are not a JSON object"
        ))),
        _ => {
            tracing::warn!(
                tool = name,
                "tool arguments are not a JSON object; sending {{}}"
            );
            Ok(Args::Empty)
        }
    }
}

/// The `functionResponse.response` object: the result text when it is a JSON object, else wrapped.
pub(super) fn function_response_body(
    content: &[ir::Part],
    is_error: bool,
) -> Result<Box<RawValue>, TranslateError> {
    let mut texts = content.iter().filter_map(|p| match p {
        ir::Part::Text { text } => Some(text.as_str()),
        _ => None,
    });
    let joined;
    let text = match (texts.next(), texts.next()) {
        (None, _) => "",
        (Some(one), None) => one,
        (Some(first), Some(second)) => {
            let mut all = format!("{first}\n{second}");
            for t in texts {
                all.push('\n');
                all.push_str(t);
            }
            joined = all;
            &joined
        }
    };
    let trimmed = text.trim();
    let object = trimmed.starts_with('{') && serde_json::from_str::<&RawValue>(trimmed).is_ok();
    let to_raw = |v: &Value| {
        serde_json::value::to_raw_value(v).map_err(|e| TranslateError::Invalid(e.to_string()))
    };
    if object {
        if is_error {
            let parsed: Value = serde_json::from_str(trimmed)
                .map_err(|e| TranslateError::Invalid(e.to_string()))?;
            if parsed.get("error").is_none() {
                return to_raw(&serde_json::json!({ "error": parsed }));
            }
        }
        return RawValue::from_string(trimmed.to_string())
            .map_err(|e| TranslateError::Invalid(e.to_string()));
    }
    let key = if is_error { "error" } else { "result" };
    to_raw(&serde_json::json!({ key: text }))
}

fn media_part<'a>(source: &'a ir::MediaSource, default_mime: &'static str) -> PartOut<'a> {
    match source {
        ir::MediaSource::Base64 { media_type, data } => PartOut {
            inline_data: Some(BlobOut {
                mime_type: media_type,
                data,
            }),
            ..PartOut::default()
        },
        ir::MediaSource::Url(url) => {
            let guessed = guess_mime(url);
            let mime_type = if guessed == "application/octet-stream" {
                default_mime
            } else {
                guessed
            };
            PartOut {
                file_data: Some(FileDataOut {
                    mime_type,
                    file_uri: url,
                }),
                ..PartOut::default()
            }
        }
    }
}

impl<'a> EncodeCtx<'a> {
    fn lone_signature(&self, signature: &'a str) -> PartOut<'a> {
        PartOut {
            text: Some(""),
            thought: self.lone_signature_as_thought.then_some(true),
            thought_signature: Some(signature),
            ..PartOut::default()
        }
    }

    /// Appends the Gemini form of `parts` to `out`.
    pub fn encode_parts(
        &mut self,
        parts: &'a [ir::Part],
        out: &mut Vec<PartOut<'a>>,
    ) -> Result<(), TranslateError> {
        // A signature from an empty-text reasoning part, waiting for the part it belongs on.
        let mut pending: Option<&'a str> = None;
        for part in parts {
            match part {
                ir::Part::Reasoning { redacted: true, .. } => {
                    tracing::debug!("dropping redacted thinking: Gemini has no equivalent");
                }
                ir::Part::Reasoning {
                    text, signature, ..
                } if text.is_empty() => {
                    if let Some(signature) = signature {
                        if let Some(previous) = pending.replace(signature) {
                            out.push(self.lone_signature(previous));
                        }
                    }
                }
                ir::Part::Reasoning {
                    text, signature, ..
                } => {
                    if let Some(previous) = pending.take() {
                        out.push(self.lone_signature(previous));
                    }
                    out.push(PartOut {
                        text: Some(text),
                        thought: Some(true),
                        thought_signature: signature.as_deref(),
                        ..PartOut::default()
                    });
                }
                ir::Part::Text { text } => out.push(PartOut {
                    text: Some(text),
                    thought_signature: pending.take(),
                    ..PartOut::default()
                }),
                ir::Part::Image { source } => {
                    let mut p = media_part(source, "image/jpeg");
                    p.thought_signature = pending.take();
                    out.push(p);
                }
                ir::Part::Document { source, title } => {
                    if title.is_some() {
                        tracing::debug!("dropping a document title: Gemini parts have none");
                    }
                    let mut p = media_part(source, "application/pdf");
                    p.thought_signature = pending.take();
                    out.push(p);
                }
                ir::Part::ToolCall {
                    id,
                    name,
                    arguments,
                    signature,
                } => {
                    self.names.insert(id, name);
                    let signature = match signature {
                        Some(own) => {
                            if let Some(previous) = pending.take() {
                                out.push(self.lone_signature(previous));
                            }
                            Some(own.as_str())
                        }
                        None => pending.take(),
                    };
                    out.push(PartOut {
                        function_call: Some(FunctionCallOut {
                            id: (!id.is_empty()).then_some(id.as_str()),
                            name,
                            args: call_args(arguments, name, self.strict)?,
                        }),
                        thought_signature: signature,
                        ..PartOut::default()
                    });
                }
                ir::Part::ToolResult {
                    call_id,
                    name,
                    content,
                    is_error,
                } => {
                    if let Some(previous) = pending.take() {
                        out.push(self.lone_signature(previous));
                    }
                    let name = match name.as_deref() {
                        Some(n) => n,
                        None => self.names.get(call_id.as_str()).copied().ok_or_else(|| {
                            TranslateError::Invalid(format!(
                                "tool result {call_id} answers no earlier tool call"
                            ))
                        })?,
                    };
                    out.push(PartOut {
                        function_response: Some(FunctionResponseOut {
                            id: (!call_id.is_empty()).then_some(call_id.as_str()),
                            name,
                            response: function_response_body(content, *is_error)?,
                        }),
                        ..PartOut::default()
                    });
                    // Media returned by a tool rides along as ordinary parts of the same turn.
                    for extra in content {
                        match extra {
                            ir::Part::Image { source } => {
                                out.push(media_part(source, "image/jpeg"))
                            }
                            ir::Part::Document { source, .. } => {
                                out.push(media_part(source, "application/pdf"))
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
        if let Some(previous) = pending {
            out.push(self.lone_signature(previous));
        }
        Ok(())
    }
}
