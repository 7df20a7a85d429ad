//! Question → dimension → overall, from answers alone (the declared score).
//! Integer arithmetic in hundredths, rounded half up, so results are exact.

use super::{AnswerStatus, DimensionResult, Overall, QuestionResult};
use crate::answers::Answers;
use crate::questionnaire::{Dimension, Questionnaire};
use crate::scale::{Gap, Score};

/// `numerator / denominator` rounded half up.
pub(super) fn div_round(numerator: u64, denominator: u64) -> u64 {
    (2 * numerator + denominator) / (2 * denominator)
}

/// Weighted mean of `(score, weight)` pairs; `None` when there are none.
pub(super) fn weighted_mean(items: impl IntoIterator<Item = (Score, u32)>) -> Option<Score> {
    let (sum, weights) = items
        .into_iter()
        .fold((0u64, 0u64), |(sum, weights), (score, weight)| {
            (
                sum + u64::from(score.hundredths()) * u64::from(weight),
                weights + u64::from(weight),
            )
        });
    (weights > 0).then(|| Score::from_hundredths(div_round(sum, weights) as u16))
}

/// One dimension's declared score. `verified` starts equal to `declared`; the
/// evidence rules adjust it.
pub(super) fn dimension(dimension: &Dimension, answers: &Answers) -> DimensionResult {
    let questions: Vec<QuestionResult> = dimension
        .questions
        .iter()
        .map(|question| {
            let answer = answers.get(&question.id);
            let option = answer
                .filter(|a| !a.is_dont_know())
                .and_then(|a| question.option(&a.option));
            QuestionResult {
                id: question.id.clone(),
                weight: question.weight,
                status: match answer {
                    None => AnswerStatus::Unanswered,
                    Some(a) if a.is_dont_know() => AnswerStatus::DontKnow,
                    Some(_) => AnswerStatus::Answered,
                },
                option: option.map(|o| o.id.clone()),
                level: option.map(|o| o.level),
                comment: answer.and_then(|a| a.comment.clone()),
            }
        })
        .collect();
    let answered = || {
        questions
            .iter()
            .filter_map(|q| q.level.map(|level| (level, q.weight)))
    };
    let mean = weighted_mean(answered());
    let weakest = answered().map(|(level, _)| level).min();
    // No averaging away a bottleneck: at most half a step above the weakest answer.
    let declared = mean
        .zip(weakest)
        .map(|(mean, weakest)| mean.min(weakest.plus_half_step()));
    DimensionResult {
        id: dimension.id.clone(),
        weight: dimension.weight,
        incomplete: questions.iter().any(|q| q.status != AnswerStatus::Answered),
        questions,
        mean,
        weakest,
        declared,
        verified: declared,
        gap: declared.map(|d| Gap::between(d, d)),
        band: declared.map(Score::band),
        evidence_backed: false,
        fired_rules: Vec::new(),
    }
}

/// Overall figures over the (already verified) dimensions.
pub(super) fn overall(questionnaire: &Questionnaire, dimensions: &[DimensionResult]) -> Overall {
    let declared = weighted_mean(
        dimensions
            .iter()
            .filter_map(|d| d.declared.map(|s| (s, d.weight))),
    );
    let verified = weighted_mean(
        dimensions
            .iter()
            .filter_map(|d| d.verified.map(|s| (s, d.weight))),
    );
    // Completeness: answered question weight, each dimension in proportion to its weight.
    let mut completeness = 0u64; // in 1/10_000 of the whole
    for (dimension, result) in questionnaire.dimensions.iter().zip(dimensions) {
        let total: u64 = dimension
            .questions
            .iter()
            .map(|q| u64::from(q.weight))
            .sum();
        let answered: u64 = result
            .questions
            .iter()
            .filter(|q| q.status == AnswerStatus::Answered)
            .map(|q| u64::from(q.weight))
            .sum();
        if total > 0 {
            completeness += div_round(answered * u64::from(dimension.weight) * 100, total);
        }
    }
    let total_weight: u64 = dimensions
        .iter()
        .map(|d| u64::from(d.weight))
        .sum::<u64>()
        .max(1);
    let completeness = div_round(completeness, total_weight) as u8;
    let covered: u64 = dimensions
        .iter()
        .filter(|d| d.evidence_backed)
        .map(|d| u64::from(d.weight))
        .sum();
    let evidence_coverage = div_round(covered * 100, total_weight) as u8;
    let confidence = div_round(
        u64::from(completeness) * (100 + u64::from(evidence_coverage)),
        200,
    ) as u8;
    Overall {
        declared,
        verified,
        gap: declared.zip(verified).map(|(d, v)| Gap::between(d, v)),
        band: verified.map(Score::band),
        completeness,
        evidence_coverage,
        confidence,
        incomplete: dimensions.iter().any(|d| d.incomplete),
    }
}
