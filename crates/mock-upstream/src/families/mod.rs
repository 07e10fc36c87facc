//! One module per upstream family: its wire shapes for the shared content model.

pub(crate) mod claude;
pub(crate) mod codex;
pub(crate) mod compat;
pub(crate) mod gemini;
