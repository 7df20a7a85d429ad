//! Labels of the terminal interview and reports in kk/ru/en
//! (`questionnaires/ui.toml`), with `{name}` placeholders.

use std::collections::BTreeMap;

use super::{Lang, Text};
use crate::source::{Problem, parse_toml};

const UI_TOML: &str = include_str!("../../questionnaires/ui.toml");

/// Every label, keyed `section.key`.
#[derive(Debug, Clone)]
pub struct Labels {
    texts: BTreeMap<String, Text>,
}

impl Labels {
    /// The labels shipped with i4gauge.
    pub fn builtin() -> Labels {
        Labels::parse(UI_TOML, "questionnaires/ui.toml")
            .expect("the shipped labels are valid (tested)")
    }

    /// Parses a labels file: sections of `key = { kk, ru, en }`, each
    /// translation non-empty and naming the same placeholders as the English.
    pub fn parse(text: &str, origin: &str) -> Result<Labels, Problem> {
        let sections: BTreeMap<String, BTreeMap<String, Text>> = parse_toml(origin, text)?;
        let mut texts = BTreeMap::new();
        for (section, entries) in sections {
            for (key, value) in entries {
                let path = format!("{section}.{key}");
                let offset = text.find(&format!("\n{key} =")).map_or(0, |o| o + 1);
                let placeholders = |s: &str| {
                    let mut names: Vec<String> = s
                        .split('{')
                        .skip(1)
                        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_owned()))
                        .collect();
                    names.sort();
                    names
                };
                for lang in Lang::ALL {
                    if value.get(lang).trim().is_empty() {
                        return Err(Problem::at(
                            origin,
                            text,
                            offset,
                            format!("{path}.{}", lang.code()),
                            "missing translation",
                        ));
                    }
                    if placeholders(value.get(lang)) != placeholders(&value.en) {
                        return Err(Problem::at(
                            origin,
                            text,
                            offset,
                            format!("{path}.{}", lang.code()),
                            format!(
                                "placeholders {:?} differ from the English {:?}",
                                placeholders(value.get(lang)),
                                placeholders(&value.en)
                            ),
                        ));
                    }
                }
                texts.insert(path, value);
            }
        }
        Ok(Labels { texts })
    }

    /// The label `key` in `lang`; the key itself when unknown (a bug, caught by tests).
    pub fn get<'a>(&'a self, key: &'a str, lang: Lang) -> &'a str {
        self.texts.get(key).map_or(key, |text| text.get(lang))
    }

    /// The label with its `{name}` placeholders filled.
    pub fn fill(&self, key: &str, lang: Lang, values: &[(&str, &str)]) -> String {
        values
            .iter()
            .fold(self.get(key, lang).to_owned(), |text, (name, value)| {
                text.replace(&format!("{{{name}}}"), value)
            })
    }

    /// Whether `key` exists.
    pub fn contains(&self, key: &str) -> bool {
        self.texts.contains_key(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_labels_load_and_fill() {
        let labels = Labels::builtin();
        assert_eq!(labels.get("interview.dont_know", Lang::Kk), "Білмеймін");
        assert_eq!(
            labels.fill(
                "interview.progress",
                Lang::Ru,
                &[("dimension", "Связность"), ("n", "3"), ("total", "28")]
            ),
            "Связность — вопрос 3 из 28"
        );
    }

    #[test]
    fn a_translation_that_drops_a_placeholder_is_refused() {
        let text = "[interview]\nsaved = { kk = \"сақталды\", ru = \"сохранено: {path}\", en = \"saved to {path}\" }\n";
        let problem = Labels::parse(text, "ui.toml").unwrap_err();
        assert_eq!(
            problem.to_string(),
            "ui.toml:2:1: interview.saved.kk: placeholders [] differ from the English [\"path\"]"
        );
    }
}
