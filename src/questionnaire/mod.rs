//! Domain content in data: questionnaires, level descriptors, evidence rules'
//! texts and roadmap actions live under `questionnaires/` in Kazakh, Russian
//! and English, and are validated on load.
//!
//! So far: [`Lang`] and the terminology [`glossary::Glossary`] every text must
//! follow. The questionnaire itself, its loader and the answers format build on
//! these.

pub mod glossary;

use serde::{Deserialize, Serialize};

/// A language of questionnaires, prompts and reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Kazakh (Қазақша).
    Kk,
    /// Russian (Русский).
    Ru,
    /// English.
    En,
}

impl Lang {
    /// Every language, in the order texts are written in data files.
    pub const ALL: [Lang; 3] = [Lang::Kk, Lang::Ru, Lang::En];

    /// The ISO 639-1 code.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Kk => "kk",
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }
}
