//! The kk/ru/en terminology (`questionnaires/glossary.toml`): one entry per
//! term, each in all three languages, so questionnaires, prompts and reports
//! say "расталған балл" and "подтверждённый балл" for "verified score" every time.

use std::collections::BTreeSet;

use serde::Deserialize;

use super::Lang;

const GLOSSARY_TOML: &str = include_str!("../../questionnaires/glossary.toml");

/// One term in the three languages.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Term {
    /// English.
    pub en: String,
    /// Kazakh.
    pub kk: String,
    /// Russian.
    pub ru: String,
}

impl Term {
    /// The term in `lang`.
    pub fn text(&self, lang: Lang) -> &str {
        match lang {
            Lang::Kk => &self.kk,
            Lang::Ru => &self.ru,
            Lang::En => &self.en,
        }
    }
}

/// The whole glossary.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Glossary {
    #[serde(rename = "term")]
    terms: Vec<Term>,
}

/// Why a glossary file is not usable; names the place.
#[derive(Debug, thiserror::Error)]
#[error("{origin}:{line}:{column}: {message}")]
pub struct GlossaryError {
    /// File name.
    pub origin: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong, with the field.
    pub message: String,
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

impl Glossary {
    /// The glossary shipped with i4gauge.
    pub fn builtin() -> Glossary {
        Glossary::parse(GLOSSARY_TOML, "questionnaires/glossary.toml")
            .expect("the shipped glossary is valid (tested)")
    }

    /// Parses and checks a glossary: every term non-empty in every language,
    /// no English term twice.
    pub fn parse(text: &str, origin: &str) -> Result<Glossary, GlossaryError> {
        let error_at = |offset: usize, message: String| {
            let (line, column) = line_column(text, offset);
            GlossaryError {
                origin: origin.to_owned(),
                line,
                column,
                message,
            }
        };
        let glossary: Glossary = toml::from_str(text).map_err(|error| {
            error_at(
                error.span().map_or(0, |span| span.start),
                error.message().to_owned(),
            )
        })?;
        let mut seen = BTreeSet::new();
        for (index, term) in glossary.terms.iter().enumerate() {
            // Locate the entry for the message: the index-th `[[term]]`.
            let offset = text
                .match_indices("[[term]]")
                .nth(index)
                .map_or(0, |(offset, _)| offset);
            for lang in Lang::ALL {
                if term.text(lang).trim().is_empty() {
                    return Err(error_at(
                        offset,
                        format!(
                            "term[{index}].{}: missing translation of {:?}",
                            lang.code(),
                            term.en
                        ),
                    ));
                }
            }
            if !seen.insert(term.en.to_lowercase()) {
                return Err(error_at(
                    offset,
                    format!("term[{index}].en: {:?} is listed twice", term.en),
                ));
            }
        }
        Ok(glossary)
    }

    /// Every term.
    pub fn terms(&self) -> &[Term] {
        &self.terms
    }

    /// The term whose English form is `en` (case-insensitive).
    pub fn find(&self, en: &str) -> Option<&Term> {
        self.terms
            .iter()
            .find(|term| term.en.eq_ignore_ascii_case(en))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_glossary_is_complete_and_has_the_key_terms() {
        let glossary = Glossary::builtin();
        assert!(glossary.terms().len() >= 40);
        let verified = glossary.find("verified (score)").unwrap();
        assert_eq!(verified.text(Lang::Kk), "расталған (балл)");
        assert_eq!(verified.text(Lang::Ru), "подтверждённый (балл)");
        assert_eq!(
            glossary.find("roadmap").unwrap().text(Lang::Kk),
            "жол картасы"
        );
        // Latin terms stay Latin in every language.
        let protocols = glossary
            .find("SCADA, MES, ERP, HMI, OPC UA, Modbus")
            .unwrap();
        assert_eq!(protocols.text(Lang::Ru), protocols.text(Lang::En));
    }

    #[test]
    fn broken_glossaries_name_the_place() {
        for (text, expected) in [
            (
                "[[term]]\nen = \"gap\"\nkk = \"алшақтық\"\n",
                "g.toml:1:1: missing field `ru`",
            ),
            (
                "[[term]]\nen = \"gap\"\nkk = \" \"\nru = \"расхождение\"\n",
                "g.toml:1:1: term[0].kk: missing translation of \"gap\"",
            ),
            (
                "[[term]]\nen = \"gap\"\nkk = \"a\"\nru = \"b\"\n\n[[term]]\nen = \"Gap\"\nkk = \"a\"\nru = \"b\"\n",
                "g.toml:6:1: term[1].en: \"Gap\" is listed twice",
            ),
            (
                "[[term]]\nen = \"gap\"\nkk = \"a\"\nru = \"b\"\nde = \"Lücke\"\n",
                "g.toml:5:1: unknown field `de`",
            ),
        ] {
            let error = Glossary::parse(text, "g.toml").unwrap_err().to_string();
            assert!(error.starts_with(expected), "{error}");
        }
    }
}
