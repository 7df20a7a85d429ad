//! Domain content in data: questionnaires, level descriptors, evidence rules'
//! texts and roadmap actions live under `questionnaires/` in Kazakh, Russian
//! and English, and are validated on load.
//!
//! [`model`] holds the validated types, [`load`] reads and checks a
//! questionnaire directory (format: `docs/questionnaire.md`), [`glossary`] the
//! terminology every text follows.

pub mod glossary;
pub mod load;
pub mod model;
pub mod ui;

pub use load::{DONT_KNOW, Sources};
pub use model::*;

use serde::{Deserialize, Serialize};

/// A language of questionnaires, prompts and reports.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
#[value(rename_all = "lowercase")]
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
