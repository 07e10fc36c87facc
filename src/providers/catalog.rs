//! The models a key entry without a `models` list serves: each provider's current public catalog.

use crate::config::Provider;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatalogModel {
    pub id: &'static str,
    pub display_name: &'static str,
    /// Release date as unix seconds, for the `created` fields of model listings.
    pub created: u64,
}

const fn m(id: &'static str, display_name: &'static str, created: u64) -> CatalogModel {
    CatalogModel {
        id,
        display_name,
        created,
    }
}

const CLAUDE: &[CatalogModel] = &[
    m("claude-opus-4-5-20251101", "Claude Opus 4.5", 1_761_955_200),
    m(
        "claude-haiku-4-5-20251001",
        "Claude Haiku 4.5",
        1_759_276_800,
    ),
    m(
        "claude-sonnet-4-5-20250929",
        "Claude Sonnet 4.5",
        1_759_104_000,
    ),
    m("claude-opus-4-1-20250805", "Claude Opus 4.1", 1_754_352_000),
    m("claude-opus-4-20250514", "Claude Opus 4", 1_747_180_800),
    m("claude-sonnet-4-20250514", "Claude Sonnet 4", 1_747_180_800),
    m(
        "claude-3-7-sonnet-20250219",
        "Claude Sonnet 3.7",
        1_739_923_200,
    ),
    m(
        "claude-3-5-haiku-20241022",
        "Claude Haiku 3.5",
        1_729_555_200,
    ),
];

const CODEX: &[CatalogModel] = &[
    m("gpt-5.5", "GPT-5.5", 1_772_323_200),
    m("gpt-5.1", "GPT-5.1", 1_762_905_600),
    m("gpt-5.1-codex", "GPT-5.1 Codex", 1_762_905_600),
    m("gpt-5.1-codex-mini", "GPT-5.1 Codex Mini", 1_762_905_600),
    m("gpt-5", "GPT-5", 1_754_524_800),
    m("gpt-5-codex", "GPT-5 Codex", 1_758_067_200),
    m("gpt-5-codex-mini", "GPT-5 Codex Mini", 1_762_473_600),
];

const GEMINI: &[CatalogModel] = &[
    m(
        "gemini-3-pro-preview",
        "Gemini 3 Pro Preview",
        1_763_424_000,
    ),
    m(
        "gemini-3-flash-preview",
        "Gemini 3 Flash Preview",
        1_765_843_200,
    ),
    m("gemini-2.5-pro", "Gemini 2.5 Pro", 1_750_118_400),
    m("gemini-2.5-flash", "Gemini 2.5 Flash", 1_750_118_400),
    m(
        "gemini-2.5-flash-lite",
        "Gemini 2.5 Flash-Lite",
        1_753_142_400,
    ),
];

/// The built-in catalog of `provider` (empty for OpenAI-compatible servers, which must list their models).
pub fn builtin_models(provider: Provider) -> &'static [CatalogModel] {
    match provider {
        Provider::Claude => CLAUDE,
        Provider::Codex => CODEX,
        Provider::Gemini => GEMINI,
        Provider::OpenAiCompat => &[],
    }
}
