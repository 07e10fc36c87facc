//! Gemini's JSON shapes. Incoming shapes own their data and accept both spellings of every field: the
//! REST docs and the google-genai SDKs use camelCase, proto-based clients (Go, some gateways) snake_case.
//! Outgoing shapes borrow from the IR so encoding copies no message text.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

// ---------------------------------------------------------------------------------------------------
// Incoming (client requests, upstream answers)
// ---------------------------------------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct GenerateContentRequest {
    pub contents: Vec<Content>,
    #[serde(alias = "system_instruction")]
    pub system_instruction: Option<Content>,
    /// Kept as raw objects: each tool is one of several kinds, told apart by its only key.
    pub tools: Vec<Map<String, Value>>,
    #[serde(alias = "tool_config")]
    pub tool_config: Option<ToolConfig>,
    #[serde(alias = "generation_config")]
    pub generation_config: Option<GenerationConfig>,
    #[serde(alias = "safety_settings")]
    pub safety_settings: Option<Value>,
    #[serde(alias = "cached_content")]
    pub cached_content: Option<String>,
    // No `flatten` catch-all here: it would make serde buffer the whole (possibly megabytes-long) body
    // before reading it. Unknown top-level fields are listed separately when debug logging is on.
}

/// The top-level field names alone, for logging what a request carried that we drop.
#[derive(Debug, Deserialize)]
pub(super) struct FieldNames(pub std::collections::HashMap<String, serde::de::IgnoredAny>);

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct Content {
    pub role: Option<String>,
    pub parts: Vec<Part>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct Part {
    pub text: Option<String>,
    pub thought: Option<bool>,
    #[serde(alias = "thought_signature")]
    pub thought_signature: Option<String>,
    #[serde(alias = "inline_data")]
    pub inline_data: Option<Blob>,
    #[serde(alias = "file_data")]
    pub file_data: Option<FileData>,
    #[serde(alias = "function_call")]
    pub function_call: Option<FunctionCall>,
    #[serde(alias = "function_response")]
    pub function_response: Option<FunctionResponse>,
    #[serde(alias = "executable_code")]
    pub executable_code: Option<Value>,
    #[serde(alias = "code_execution_result")]
    pub code_execution_result: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct Blob {
    #[serde(alias = "mime_type")]
    pub mime_type: String,
    pub data: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct FileData {
    #[serde(alias = "mime_type")]
    pub mime_type: Option<String>,
    #[serde(alias = "file_uri")]
    pub file_uri: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct FunctionCall {
    pub id: Option<String>,
    pub name: String,
    pub args: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct FunctionResponse {
    pub id: Option<String>,
    pub name: String,
    pub response: Option<Value>,
    /// Multimodal function responses (Gemini 3): inline media that belongs to the result.
    pub parts: Vec<Part>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct ToolConfig {
    #[serde(alias = "function_calling_config")]
    pub function_calling_config: Option<FunctionCallingConfig>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct FunctionCallingConfig {
    pub mode: Option<String>,
    #[serde(alias = "allowed_function_names")]
    pub allowed_function_names: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct GenerationConfig {
    #[serde(alias = "max_output_tokens")]
    pub max_output_tokens: Option<u64>,
    pub temperature: Option<f64>,
    #[serde(alias = "top_p")]
    pub top_p: Option<f64>,
    #[serde(alias = "top_k")]
    pub top_k: Option<f64>,
    #[serde(alias = "stop_sequences")]
    pub stop_sequences: Vec<String>,
    #[serde(alias = "candidate_count")]
    pub candidate_count: Option<u64>,
    #[serde(alias = "response_mime_type")]
    pub response_mime_type: Option<String>,
    #[serde(alias = "response_schema")]
    pub response_schema: Option<Value>,
    #[serde(alias = "response_json_schema")]
    pub response_json_schema: Option<Value>,
    #[serde(alias = "response_modalities")]
    pub response_modalities: Vec<String>,
    #[serde(alias = "thinking_config")]
    pub thinking_config: Option<ThinkingConfig>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct ThinkingConfig {
    #[serde(alias = "thinking_budget")]
    pub thinking_budget: Option<i64>,
    #[serde(alias = "thinking_level")]
    pub thinking_level: Option<String>,
    #[serde(alias = "include_thoughts")]
    pub include_thoughts: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct GenerateContentResponse {
    pub candidates: Vec<Candidate>,
    #[serde(alias = "prompt_feedback")]
    pub prompt_feedback: Option<PromptFeedback>,
    #[serde(alias = "usage_metadata")]
    pub usage_metadata: Option<UsageMetadata>,
    #[serde(alias = "model_version")]
    pub model_version: Option<String>,
    #[serde(alias = "response_id")]
    pub response_id: Option<String>,
    #[serde(alias = "create_time")]
    pub create_time: Option<String>,
    /// An in-band failure (`{"error":{code,message,status}}`).
    pub error: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct Candidate {
    pub content: Option<Content>,
    #[serde(alias = "finish_reason")]
    pub finish_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct PromptFeedback {
    #[serde(alias = "block_reason")]
    pub block_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct UsageMetadata {
    #[serde(alias = "prompt_token_count")]
    pub prompt_token_count: u64,
    #[serde(alias = "candidates_token_count")]
    pub candidates_token_count: u64,
    #[serde(alias = "thoughts_token_count")]
    pub thoughts_token_count: u64,
    #[serde(alias = "cached_content_token_count")]
    pub cached_content_token_count: u64,
}

// ---------------------------------------------------------------------------------------------------
// Outgoing (upstream requests, client answers)
// ---------------------------------------------------------------------------------------------------

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RequestOut<'a> {
    pub contents: Vec<ContentOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_instruction: Option<SystemOut<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_config: Option<ToolConfigOut<'a>>,
    #[serde(skip_serializing_if = "GenerationConfigOut::is_empty")]
    pub generation_config: GenerationConfigOut<'a>,
}

#[derive(Debug, Serialize)]
pub(super) struct SystemOut<'a> {
    pub parts: Vec<TextOut<'a>>,
}

#[derive(Debug, Serialize)]
pub(super) struct TextOut<'a> {
    pub text: &'a str,
}

#[derive(Debug, Serialize)]
pub(super) struct ContentOut<'a> {
    pub role: &'static str,
    pub parts: Vec<PartOut<'a>>,
}

/// One part; exactly one of the data fields is set.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PartOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thought: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inline_data: Option<BlobOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_data: Option<FileDataOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function_call: Option<FunctionCallOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function_response: Option<FunctionResponseOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thought_signature: Option<&'a str>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct BlobOut<'a> {
    pub mime_type: &'a str,
    pub data: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct FileDataOut<'a> {
    pub mime_type: &'a str,
    pub file_uri: &'a str,
}

#[derive(Debug, Serialize)]
pub(super) struct FunctionCallOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<&'a str>,
    pub name: &'a str,
    pub args: Args<'a>,
}

/// Function-call arguments: the model's JSON text when it is an object, re-emitted without re-parsing.
#[derive(Debug)]
pub(super) enum Args<'a> {
    Raw(&'a RawValue),
    Empty,
}

impl Serialize for Args<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Args::Raw(raw) => raw.serialize(s),
            Args::Empty => Map::new().serialize(s),
        }
    }
}

#[derive(Debug, Serialize)]
pub(super) struct FunctionResponseOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<&'a str>,
    pub name: &'a str,
    pub response: Box<RawValue>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ToolOut<'a> {
    pub function_declarations: Vec<FunctionDeclarationOut<'a>>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct FunctionDeclarationOut<'a> {
    pub name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<&'a str>,
    /// Full JSON Schema (the API's `parametersJsonSchema`, unlike `parameters`, takes it as is).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters_json_schema: Option<&'a Value>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ToolConfigOut<'a> {
    pub function_calling_config: FunctionCallingConfigOut<'a>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct FunctionCallingConfigOut<'a> {
    pub mode: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_function_names: Option<[&'a str; 1]>,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct GenerationConfigOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u64>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub stop_sequences: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_mime_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_json_schema: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thinking_config: Option<ThinkingConfigOut>,
}

impl GenerationConfigOut<'_> {
    fn is_empty(&self) -> bool {
        self.max_output_tokens.is_none()
            && self.temperature.is_none()
            && self.top_p.is_none()
            && self.top_k.is_none()
            && self.stop_sequences.is_empty()
            && self.response_mime_type.is_none()
            && self.response_json_schema.is_none()
            && self.thinking_config.is_none()
    }
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ThinkingConfigOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thinking_budget: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thinking_level: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub include_thoughts: Option<bool>,
}

/// A `GenerateContentResponse` as sent to a client: a whole answer or one stream chunk.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ResponseOut<'a> {
    pub candidates: [CandidateOut<'a>; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage_metadata: Option<UsageOut>,
    pub model_version: &'a str,
    pub create_time: &'a str,
    pub response_id: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CandidateOut<'a> {
    pub content: ContentOut<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<&'a str>,
    pub index: u32,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct UsageOut {
    pub prompt_token_count: u64,
    pub candidates_token_count: u64,
    pub total_token_count: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub cached_content_token_count: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub thoughts_token_count: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}
