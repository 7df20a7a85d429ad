//! Sector and region classifiers (`questionnaires/classifiers.toml`): what an
//! enterprise typed ("C24.2", "24101", "Павлодарская область", "Almaty") to a
//! code the survey groups by, with kk/ru/en labels. Whatever is not
//! recognised, or not given, is [`UNCLASSIFIED`]: free text never reaches a
//! dashboard, so a name typed into the region field cannot be published.

use std::collections::HashMap;

use serde::Deserialize;

use crate::questionnaire::{Lang, Text};
use crate::source::{Problem, parse_toml};

const CLASSIFIERS_TOML: &str = include_str!("../../questionnaires/classifiers.toml");

/// The group of enterprises whose sector or region is missing or not recognised.
pub const UNCLASSIFIED: &str = "unclassified";

/// The group small groups are merged into.
pub const OTHER: &str = "other";

/// A classifier entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Stable code: `karaganda`, `C24`.
    pub code: String,
    /// KATO prefix (regions only).
    #[serde(default)]
    pub kato: Option<String>,
    /// Label.
    pub name: Text,
    /// Other spellings (regions only).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// The industry group (sectors only).
    #[serde(default)]
    pub group: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    region: Vec<Entry>,
    sector: Vec<Entry>,
    sector_group: Vec<Entry>,
}

/// Both classifiers.
#[derive(Debug, Clone)]
pub struct Classifiers {
    regions: Vec<Entry>,
    sectors: Vec<Entry>,
    groups: Vec<Entry>,
    region_alias: HashMap<String, usize>,
}

/// Lower case, whitespace collapsed.
fn normalise(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

impl Classifiers {
    /// The classifiers shipped with i4gauge.
    pub fn builtin() -> Classifiers {
        Classifiers::parse(CLASSIFIERS_TOML, "questionnaires/classifiers.toml")
            .expect("the shipped classifiers are valid (tested)")
    }

    /// Parses a classifiers file, refusing an alias that names two regions.
    pub fn parse(text: &str, origin: &str) -> Result<Classifiers, Problem> {
        let file: File = parse_toml(origin, text)?;
        let mut region_alias: HashMap<String, usize> = HashMap::new();
        for (index, entry) in file.region.iter().enumerate() {
            let names = [&entry.code, &entry.name.kk, &entry.name.ru, &entry.name.en];
            for alias in names.into_iter().chain(&entry.aliases) {
                let key = normalise(alias);
                if let Some(&other) = region_alias.get(&key)
                    && other != index
                {
                    let offset = text.find(alias.as_str()).unwrap_or(0);
                    return Err(Problem::at(
                        origin,
                        text,
                        offset,
                        format!("region.{}.aliases", entry.code),
                        format!("{alias:?} also names region {:?}", file.region[other].code),
                    ));
                }
                region_alias.insert(key, index);
            }
        }
        for entry in &file.sector {
            let group = entry.group.as_deref().unwrap_or_default();
            if !file.sector_group.iter().any(|g| g.code == group) {
                let offset = text.find(&format!("\"{}\"", entry.code)).unwrap_or(0);
                return Err(Problem::at(
                    origin,
                    text,
                    offset,
                    format!("sector.{}.group", entry.code),
                    format!("{group:?} is not a sector_group"),
                ));
            }
        }
        Ok(Classifiers {
            regions: file.region,
            sectors: file.sector,
            groups: file.sector_group,
            region_alias,
        })
    }

    /// The region code of what an enterprise typed, or [`UNCLASSIFIED`].
    pub fn region(&self, typed: Option<&str>) -> &str {
        typed
            .and_then(|t| self.region_alias.get(&normalise(t)))
            .map_or(UNCLASSIFIED, |&index| self.regions[index].code.as_str())
    }

    /// The industry group (`metals`) of a sector code an enterprise typed, or
    /// [`UNCLASSIFIED`]: what the survey reports by.
    pub fn sector(&self, typed: Option<&str>) -> &str {
        let division = self.division(typed);
        self.sectors
            .iter()
            .find(|e| e.code == division)
            .and_then(|e| e.group.as_deref())
            .unwrap_or(UNCLASSIFIED)
    }

    /// The NACE/OKED division (`C24`) of a code an enterprise typed:
    /// `C24.2`, `c24.20`, `24.20.1` or `24101` all give `C24`; a division
    /// outside the classifier, or text, gives [`UNCLASSIFIED`].
    pub fn division(&self, typed: Option<&str>) -> &str {
        let Some(typed) = typed.map(str::trim) else {
            return UNCLASSIFIED;
        };
        let (letter, rest) = match typed.chars().next() {
            Some(c) if c.is_ascii_alphabetic() => (Some(c.to_ascii_uppercase()), &typed[1..]),
            _ => (None, typed),
        };
        let rest = rest.trim_start();
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if digits.len() < 2 || !rest.chars().all(|c| c.is_ascii_digit() || c == '.') {
            return UNCLASSIFIED;
        }
        let division = &digits[..2];
        self.sectors
            .iter()
            .find(|entry| {
                entry.code.get(1..) == Some(division)
                    && letter.is_none_or(|l| entry.code.starts_with(l))
            })
            .map_or(UNCLASSIFIED, |entry| entry.code.as_str())
    }

    /// Every region.
    pub fn regions(&self) -> &[Entry] {
        &self.regions
    }

    /// Every division.
    pub fn divisions(&self) -> &[Entry] {
        &self.sectors
    }

    /// Every industry group, in the order dashboards list them.
    pub fn sector_groups(&self) -> &[Entry] {
        &self.groups
    }

    /// The label of a region code, `None` for [`UNCLASSIFIED`], [`OTHER`] or unknown.
    pub fn region_name(&self, code: &str, lang: Lang) -> Option<&str> {
        self.regions
            .iter()
            .find(|e| e.code == code)
            .map(|e| e.name.get(lang))
    }

    /// The label of an industry group, `None` for [`UNCLASSIFIED`], [`OTHER`] or unknown.
    pub fn sector_name(&self, code: &str, lang: Lang) -> Option<&str> {
        self.groups
            .iter()
            .find(|e| e.code == code)
            .map(|e| e.name.get(lang))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_classifiers_load() {
        let c = Classifiers::builtin();
        assert_eq!(c.regions().len(), 20, "17 regions and 3 cities");
        assert_eq!(c.divisions().len(), 34, "divisions of sections B to E");
        assert!(c.sector_groups().len() >= 10);
        for entry in c
            .regions()
            .iter()
            .chain(c.sector_groups())
            .chain(c.divisions())
        {
            for lang in Lang::ALL {
                assert!(!entry.name.get(lang).trim().is_empty(), "{}", entry.code);
            }
        }
    }

    #[test]
    fn regions_are_recognised_in_any_language_and_city_is_not_oblast() {
        let c = Classifiers::builtin();
        let city = c.region(Some("Almaty"));
        let oblast = c.region(Some("Almaty region"));
        assert_ne!(city, UNCLASSIFIED);
        assert_ne!(oblast, UNCLASSIFIED);
        assert_ne!(city, oblast, "the city of Almaty is not the Almaty region");
        let pavlodar = c.region(Some("Pavlodar region"));
        assert_ne!(pavlodar, UNCLASSIFIED);
        assert_eq!(c.region(Some("  павлодарская   ОБЛАСТЬ ")), pavlodar);
        assert_eq!(c.region(Some("Павлодар облысы")), pavlodar);
        assert_eq!(c.region(Some("Temirtau steel works, gate 3")), UNCLASSIFIED);
        assert_eq!(c.region(None), UNCLASSIFIED);
    }

    #[test]
    fn sectors_are_read_from_any_oked_spelling() {
        let c = Classifiers::builtin();
        for typed in ["C24.2", "c24.20", "24.20.1", "24101", "C 24.1"] {
            assert_eq!(c.division(Some(typed)), "C24", "{typed}");
            assert_eq!(c.sector(Some(typed)), "metals", "{typed}");
        }
        assert_eq!(c.division(Some("B06.10")), "B06");
        assert_eq!(c.sector(Some("B06.10")), "oil-gas");
        assert_eq!(
            c.division(Some("D24")),
            UNCLASSIFIED,
            "letter and division disagree"
        );
        assert_eq!(
            c.sector(Some("G47.1")),
            UNCLASSIFIED,
            "retail is not in the classifier"
        );
        assert_eq!(c.sector(Some("металлургия")), UNCLASSIFIED);
        assert_eq!(c.sector(Some("7")), UNCLASSIFIED);
        assert_eq!(c.sector(None), UNCLASSIFIED);
    }

    #[test]
    fn an_alias_naming_two_regions_is_refused_with_its_place() {
        let text = "sector = []\nsector_group = []\n\n[[region]]\ncode = \"a\"\nname = { kk = \"A\", ru = \"A\", en = \"A\" }\naliases = [\"x\"]\n\n[[region]]\ncode = \"b\"\nname = { kk = \"B\", ru = \"B\", en = \"B\" }\naliases = [\"X \"]\n";
        let error = Classifiers::parse(text, "c.toml").unwrap_err().to_string();
        assert!(error.starts_with("c.toml:"), "{error}");
        assert!(error.contains("region.b.aliases"), "{error}");
        assert!(error.contains("also names region \"a\""), "{error}");
    }
}
