//! Formatting helpers for the report: every string that came from a device,
//! an answer or a file goes through [`untrusted`] before it reaches a
//! template, and every text put into generated SVG through [`xml`].

use crate::scale::{Gap, Score};

/// Longest untrusted text shown, in characters; the rest is cut with "…".
pub const MAX_UNTRUSTED_CHARS: usize = 160;

/// Makes an untrusted string safe to *show* (HTML escaping is the template's
/// job): cut to [`MAX_UNTRUSTED_CHARS`], and control and bidirectional
/// formatting characters (e.g. U+202E RIGHT-TO-LEFT OVERRIDE, which can make
/// "gpj.exe" read "exe.jpg") replaced by a visible `[U+202E]`.
pub fn untrusted(text: &str) -> String {
    let mut out = String::new();
    for (count, c) in text.chars().enumerate() {
        if count == MAX_UNTRUSTED_CHARS {
            out.push('…');
            break;
        }
        let invisible = c.is_control()
            || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}');
        if invisible {
            out.push_str(&format!("[U+{:04X}]", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Escapes text for XML/HTML content and attribute values.
pub fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A score with one decimal, or a dash.
pub fn score(score: Option<Score>) -> String {
    score.map_or_else(|| "–".to_owned(), Score::one_decimal)
}

/// A gap with its sign and one decimal, rounded (`+0.5`, `−0.3`, `0.0`), or a dash.
pub fn gap(gap: Option<Gap>) -> String {
    let Some(gap) = gap else {
        return "–".to_owned();
    };
    let hundredths = gap.hundredths();
    let tenths = (hundredths.abs() + 5) / 10;
    let sign = match hundredths.signum() {
        _ if tenths == 0 => "",
        1 => "+",
        _ => "−",
    };
    format!("{sign}{}.{}", tenths / 10, tenths % 10)
}

/// A percentage.
pub fn percent(value: u8) -> String {
    format!("{value} %")
}

/// A fixed-point number for SVG coordinates (two decimals, no exponent).
pub fn coordinate(value: f64) -> String {
    let text = format!("{value:.2}");
    if text == "-0.00" {
        "0.00".to_owned()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untrusted_text_is_cut_and_invisible_characters_are_shown() {
        assert_eq!(untrusted("Altyn Automation"), "Altyn Automation");
        assert_eq!(
            untrusted("invoice\u{202E}gpj.exe"),
            "invoice[U+202E]gpj.exe"
        );
        assert_eq!(untrusted("a\u{0}b\nc"), "a[U+0000]b[U+000A]c");
        let long = "ж".repeat(65_536);
        let shown = untrusted(&long);
        assert_eq!(shown.chars().count(), MAX_UNTRUSTED_CHARS + 1);
        assert!(shown.ends_with('…'));
        // Markup is left to escaping, not mangled here.
        assert_eq!(untrusted("<script>"), "<script>");
    }

    #[test]
    fn xml_escapes_every_special_character() {
        assert_eq!(
            xml(r#""><img src=x onerror='alert(1)'>&"#),
            "&quot;&gt;&lt;img src=x onerror=&#39;alert(1)&#39;&gt;&amp;"
        );
    }

    #[test]
    fn numbers_have_a_fixed_form() {
        let s = |h| Some(Score::from_hundredths(h));
        assert_eq!(score(s(325)), "3.2");
        assert_eq!(score(None), "–");
        assert_eq!(
            gap(Some(Gap::between(
                Score::from_hundredths(400),
                Score::from_hundredths(300)
            ))),
            "+1.0"
        );
        assert_eq!(
            gap(Some(Gap::between(
                Score::from_hundredths(300),
                Score::from_hundredths(333)
            ))),
            "−0.3"
        );
        assert_eq!(
            gap(Some(Gap::between(
                Score::from_hundredths(300),
                Score::from_hundredths(302)
            ))),
            "0.0"
        );
        assert_eq!(percent(86), "86 %");
        assert_eq!(coordinate(-0.001), "0.00");
        assert_eq!(coordinate(12.345_6), "12.35");
    }
}
