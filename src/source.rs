//! Places in text files: every loader of user-written data (plants,
//! questionnaires, answers, the glossary) reports errors as
//! `FILE:LINE:COLUMN: FIELD PATH: MESSAGE`, so a person can go straight to the
//! mistake.

use std::fmt;
use std::path::Path;

/// 1-based line and column (in characters) of a byte offset in `text`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// One problem in a file, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file, as the user named it.
    pub origin: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// Field path, e.g. `dimension[2].question[0].option[3].level`; empty when
    /// the problem is the whole file.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl Problem {
    /// A problem at byte `offset` of `text`.
    pub fn at(
        origin: &str,
        text: &str,
        offset: usize,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Problem {
        let (line, column) = line_column(text, offset);
        Problem {
            origin: origin.to_owned(),
            line,
            column,
            path: path.into(),
            message: message.into(),
        }
    }

    /// A TOML parse or type error, with the field path serde saw.
    pub fn from_toml(
        origin: &str,
        text: &str,
        error: serde_path_to_error::Error<toml::de::Error>,
    ) -> Problem {
        // `toml::Spanned` shows up in serde's path as a private field; drop it.
        let path = error
            .path()
            .to_string()
            .replace(".$__serde_spanned_private_value", "")
            .replace("$__serde_spanned_private_value", "");
        let inner = error.into_inner();
        let message = inner.message().trim_end();
        let mut offset = inner.span().map_or(0, |span| span.start);
        // toml places an unknown key at its table; point at the key itself.
        if let Some(key) = message
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split('`').next())
            && let Some(found) = find_key(&text[offset.min(text.len())..], key)
        {
            offset += found;
        }
        let path = if path == "." { String::new() } else { path };
        Problem::at(origin, text, offset, path, message)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.origin, self.line, self.column)?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// Offset of the first line in `text` that assigns `key` (`key =` after indentation).
fn find_key(text: &str, key: &str) -> Option<usize> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix(key)
            && rest.trim_start().starts_with('=')
        {
            return Some(offset + (line.len() - trimmed.len()));
        }
        offset += line.len();
    }
    None
}

/// Every problem found in a set of files, in file order; displayed one per line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Problems(pub Vec<Problem>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, problem) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

/// Deserializes TOML with the field path of any error.
pub fn parse_toml<T: serde::de::DeserializeOwned>(origin: &str, text: &str) -> Result<T, Problem> {
    let deserializer = toml::Deserializer::parse(text).map_err(|error| {
        Problem::at(
            origin,
            text,
            error.span().map_or(0, |span| span.start),
            "",
            error.message().trim_end(),
        )
    })?;
    serde_path_to_error::deserialize(deserializer)
        .map_err(|error| Problem::from_toml(origin, text, error))
}

/// Writes `bytes` to `path` atomically: to a temporary file beside it, synced,
/// then renamed over it, so a reader (or a crash) never sees half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut file = tempfile::NamedTempFile::new_in(directory)?;
    std::io::Write::write_all(&mut file, bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|error| error.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_count_characters_from_one() {
        let text = "a = 1\nқазақ = \"x\"\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        // The '=' after five two-byte Kazakh letters and a space.
        let offset = text.find('=').unwrap();
        assert_eq!(line_column(text, offset), (1, 3));
        let offset = text.rfind('=').unwrap();
        assert_eq!(line_column(text, offset), (2, 7));
        // Inside a multi-byte character and past the end: still a place.
        assert_eq!(line_column(text, 7), (2, 1));
        assert_eq!(line_column(text, 10_000), (3, 1));
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        item: Vec<Item>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        id: String,
        weight: u32,
    }

    #[test]
    fn toml_errors_carry_file_line_column_and_field_path() {
        let text = "[[item]]\nid = \"a\"\nweight = 1\n\n[[item]]\nid = \"b\"\nweight = \"heavy\"\n";
        let problem = parse_toml::<Doc>("q.toml", text).unwrap_err();
        assert_eq!(problem.path, "item[1].weight");
        assert_eq!((problem.line, problem.column), (7, 10));
        assert!(
            problem
                .to_string()
                .starts_with("q.toml:7:10: item[1].weight: invalid type"),
            "{problem}"
        );

        let text = "[[item]]\nid = \"a\"\nweight = 1\ncolour = \"red\"\n";
        let problem = parse_toml::<Doc>("q.toml", text).unwrap_err();
        assert_eq!(problem.line, 4, "{problem}");
        assert!(
            problem.message.contains("unknown field `colour`"),
            "{problem}"
        );

        let problem = parse_toml::<Doc>("q.toml", "[[item]\n").unwrap_err();
        assert_eq!(problem.line, 1, "{problem}");
    }
}
