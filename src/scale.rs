//! The 2.0–4.0 maturity scale: scores in hundredths, so arithmetic and
//! formatting are exact and an assessment is byte-for-byte reproducible.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A score on the 2.0–4.0 scale, kept in hundredths (`325` is 3.25).
///
/// Serialized as a JSON/TOML number with at most two decimals (`3.25`, `3.0`
/// prints as `3.0`); read from any number, rounded to the hundredth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Score(u16);

impl Score {
    /// The bottom of the scale: Industry 2.0.
    pub const MIN: Score = Score(200);
    /// The top of the scale: Industry 4.0.
    pub const MAX: Score = Score(400);
    /// One half step, the width of a band.
    pub const HALF_STEP: u16 = 50;
    /// The five levels of the scale, ascending.
    pub const LEVELS: [Score; 5] = [Score(200), Score(250), Score(300), Score(350), Score(400)];

    /// From hundredths.
    pub const fn from_hundredths(hundredths: u16) -> Score {
        Score(hundredths)
    }

    /// In hundredths.
    pub const fn hundredths(self) -> u16 {
        self.0
    }

    /// Rounds `value` to the hundredth (half away from zero); `None` when it is
    /// not a finite number between 0 and 655.
    pub fn from_f64(value: f64) -> Option<Score> {
        let hundredths = (value * 100.0).round();
        (value.is_finite() && (0.0..=65_535.0).contains(&hundredths))
            .then_some(Score(hundredths as u16))
    }

    /// As a float, for display arithmetic only.
    pub fn as_f64(self) -> f64 {
        f64::from(self.0) / 100.0
    }

    /// Whether this is one of the five levels of the scale.
    pub fn is_level(self) -> bool {
        Score::LEVELS.contains(&self)
    }

    /// Clamped into 2.0–4.0.
    pub fn clamped(self) -> Score {
        self.clamp(Score::MIN, Score::MAX)
    }

    /// The band: the score floored to the half step (3.49 → 3.0).
    pub fn band(self) -> Score {
        Score(self.0 - self.0 % Score::HALF_STEP).clamped()
    }

    /// The band above this score's band, if below 4.0.
    pub fn next_band(self) -> Option<Score> {
        let band = self.band();
        (band < Score::MAX).then(|| Score(band.0 + Score::HALF_STEP))
    }

    /// Half a step higher, capped at 4.0.
    pub fn plus_half_step(self) -> Score {
        Score(self.0 + Score::HALF_STEP).min(Score::MAX.max(self))
    }

    /// Formatted with one decimal, as reports show it, truncated (3.29 → "3.2",
    /// 2.98 → "2.9") so that a shown score never reaches a band boundary the
    /// score itself has not reached: "3.0" always means band 3.0.
    pub fn one_decimal(self) -> String {
        let tenths = u32::from(self.0) / 10;
        format!("{}.{}", tenths / 10, tenths % 10)
    }
}

/// A signed difference between two scores, in hundredths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Gap(i32);

impl Gap {
    /// A gap of `hundredths` (a mean of gaps, say).
    pub const fn from_hundredths(hundredths: i32) -> Gap {
        Gap(hundredths)
    }

    /// `declared - verified`: positive when the enterprise claims more than the
    /// evidence supports.
    pub fn between(declared: Score, verified: Score) -> Gap {
        Gap(i32::from(declared.0) - i32::from(verified.0))
    }

    /// In hundredths.
    pub fn hundredths(self) -> i32 {
        self.0
    }
}

fn write_hundredths(f: &mut fmt::Formatter<'_>, value: i32) -> fmt::Result {
    let sign = if value < 0 { "-" } else { "" };
    let value = value.unsigned_abs();
    let (whole, cents) = (value / 100, value % 100);
    if cents % 10 == 0 {
        write!(f, "{sign}{whole}.{}", cents / 10)
    } else {
        write!(f, "{sign}{whole}.{cents:02}")
    }
}

impl fmt::Display for Score {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hundredths(f, i32::from(self.0))
    }
}

impl fmt::Display for Gap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hundredths(f, self.0)
    }
}

fn serialize_hundredths<S: Serializer>(value: i32, serializer: S) -> Result<S::Ok, S::Error> {
    // Two decimals at most; f64 of a hundredth prints shortest-round-trip, so
    // 3.25 is "3.25" and 3.0 is "3.0" on every platform.
    serializer.serialize_f64(f64::from(value) / 100.0)
}

impl Serialize for Score {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_hundredths(i32::from(self.0), serializer)
    }
}

impl Serialize for Gap {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_hundredths(self.0, serializer)
    }
}

impl<'de> Deserialize<'de> for Score {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Score, D::Error> {
        let value = f64::deserialize(deserializer)?;
        Score::from_f64(value).ok_or_else(|| {
            serde::de::Error::custom(format!("{value} is not a score on the 2.0–4.0 scale"))
        })
    }
}

impl<'de> Deserialize<'de> for Gap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Gap, D::Error> {
        let value = f64::deserialize(deserializer)?;
        Ok(Gap((value * 100.0).round() as i32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_floor_to_the_half_step() {
        let s = |h| Score::from_hundredths(h);
        assert_eq!(s(349).band(), s(300));
        assert_eq!(s(350).band(), s(350));
        assert_eq!(s(400).band(), s(400));
        assert_eq!(s(200).next_band(), Some(s(250)));
        assert_eq!(s(399).next_band(), Some(s(400)));
        assert_eq!(s(400).next_band(), None);
    }

    #[test]
    fn formatting_is_fixed_and_exact() {
        let s = |h| Score::from_hundredths(h);
        assert_eq!(s(300).to_string(), "3.0");
        assert_eq!(s(325).to_string(), "3.25");
        assert_eq!(s(305).to_string(), "3.05");
        assert_eq!(s(325).one_decimal(), "3.2");
        assert_eq!(s(329).one_decimal(), "3.2");
        assert_eq!(s(298).one_decimal(), "2.9");
        assert_eq!(s(300).one_decimal(), "3.0");
        assert_eq!(s(400).one_decimal(), "4.0");
        assert_eq!(Gap::between(s(400), s(300)).to_string(), "1.0");
        assert_eq!(Gap::between(s(275), s(300)).to_string(), "-0.25");
        assert_eq!(
            serde_json::to_string(&[s(325), s(300), s(305)]).unwrap(),
            "[3.25,3.0,3.05]"
        );
        assert_eq!(
            serde_json::to_string(&Gap::between(s(200), s(333))).unwrap(),
            "-1.33"
        );
    }

    #[test]
    fn reading_rounds_to_the_hundredth_and_refuses_nonsense() {
        assert_eq!(Score::from_f64(3.0), Some(Score::from_hundredths(300)));
        assert_eq!(
            Score::from_f64(2.499_999),
            Some(Score::from_hundredths(250))
        );
        assert_eq!(Score::from_f64(f64::NAN), None);
        assert_eq!(Score::from_f64(-1.0), None);
        let round_trip: Vec<Score> = serde_json::from_str("[3.25, 2.0, 3.05]").unwrap();
        assert_eq!(
            serde_json::to_string(&round_trip).unwrap(),
            "[3.25,2.0,3.05]"
        );
        assert!(serde_json::from_str::<Score>("\"3\"").is_err());
    }
}
