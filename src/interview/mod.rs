//! The interview: asks the questionnaire's questions one by one, with their
//! level descriptors, and saves the answers atomically after every reply, so
//! an interruption loses nothing and `--resume` continues where it stopped.
//!
//! The flow is here; how a question is put to a person is a [`Prompter`]:
//! [`terminal::Terminal`] (arrow-key menus on a terminal) or [`script::Script`]
//! (one line per reply, for pipes and tests).

pub mod script;
pub mod terminal;

use std::path::Path;

use anyhow::Context;

use crate::answers::{Answer, Answers, Enterprise, SizeClass};
use crate::questionnaire::ui::Labels;
use crate::questionnaire::{DONT_KNOW, Lang, Question, Questionnaire};

/// A reply to a question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// The option at this index (0-based, ascending level).
    Option(usize, Option<String>),
    /// "Don't know", with an optional comment.
    DontKnow(Option<String>),
    /// Leave unanswered for now.
    Skip,
    /// Stop the interview.
    Quit,
}

/// What a prompter shows for one question.
#[derive(Debug, Clone)]
pub struct QuestionView<'a> {
    /// "Connectivity — question 3 of 28".
    pub progress: String,
    /// The question.
    pub question: &'a Question,
    /// Language.
    pub lang: Lang,
    /// The option chosen before, if the question is asked again.
    pub current: Option<usize>,
}

/// Puts questions to a person.
pub trait Prompter {
    /// Shows a line of information.
    fn say(&mut self, text: &str) -> anyhow::Result<()>;
    /// Asks for a line of text; `None` when the person stops (Ctrl-C, end of input).
    fn text(&mut self, label: &str, default: Option<&str>) -> anyhow::Result<Option<String>>;
    /// Asks to pick one of `choices`; `None` when the person stops.
    fn pick(&mut self, label: &str, choices: &[String]) -> anyhow::Result<Option<usize>>;
    /// Asks a question of the questionnaire.
    fn ask(&mut self, view: &QuestionView<'_>, labels: &Labels) -> anyhow::Result<Reply>;
}

/// How an interview ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// Questions with an answer (an option or `dont_know`).
    pub answered: usize,
    /// Questions in the questionnaire.
    pub total: usize,
    /// The person stopped before the end.
    pub stopped: bool,
}

/// Asks for the enterprise profile; `None` when the person stops.
fn profile(
    prompter: &mut dyn Prompter,
    labels: &Labels,
    lang: Lang,
    today: &str,
) -> anyhow::Result<Option<Enterprise>> {
    let label = |key: &str| labels.get(key, lang).to_owned();
    prompter.say(&label("interview.profile"))?;
    let mut enterprise = Enterprise::default();
    loop {
        let Some(name) = prompter.text(&label("interview.name"), None)? else {
            return Ok(None);
        };
        if !name.trim().is_empty() {
            enterprise.name = name.trim().to_owned();
            break;
        }
    }
    loop {
        let Some(bin) = prompter.text(&label("interview.bin"), None)? else {
            return Ok(None);
        };
        let bin = bin.trim();
        if bin.is_empty() {
            break;
        }
        if bin.len() == 12 && bin.bytes().all(|b| b.is_ascii_digit()) {
            enterprise.bin = Some(bin.to_owned());
            break;
        }
        prompter.say(&labels.fill("interview.invalid", lang, &[("input", bin)]))?;
    }
    let optional = |value: String| Some(value.trim().to_owned()).filter(|v| !v.is_empty());
    let Some(sector) = prompter.text(&label("interview.sector"), None)? else {
        return Ok(None);
    };
    enterprise.sector = optional(sector);
    let Some(region) = prompter.text(&label("interview.region"), None)? else {
        return Ok(None);
    };
    enterprise.region = optional(region);
    let sizes = [
        SizeClass::Micro,
        SizeClass::Small,
        SizeClass::Medium,
        SizeClass::Large,
    ];
    let size_names: Vec<String> = [
        "micro (≤ 15)",
        "small (≤ 100)",
        "medium (≤ 250)",
        "large (> 250)",
    ]
    .into_iter()
    .map(str::to_owned)
    .chain([label("interview.skip")])
    .collect();
    let Some(size) = prompter.pick(&label("interview.size"), &size_names)? else {
        return Ok(None);
    };
    enterprise.size = sizes.get(size).copied();
    let Some(assessor) = prompter.text(&label("interview.assessor"), None)? else {
        return Ok(None);
    };
    enterprise.assessor = optional(assessor);
    loop {
        let Some(date) = prompter.text(&label("interview.date"), Some(today))? else {
            return Ok(None);
        };
        let date = if date.trim().is_empty() {
            today.to_owned()
        } else {
            date.trim().to_owned()
        };
        if chrono::NaiveDate::parse_from_str(&date, "%Y-%m-%d").is_ok() {
            enterprise.date = Some(date);
            break;
        }
        prompter.say(&labels.fill("interview.invalid", lang, &[("input", &date)]))?;
    }
    let yes_no = [label("interview.yes"), label("interview.no")];
    let Some(scope) = prompter.pick(&label("interview.scope_complete"), &yes_no)? else {
        return Ok(None);
    };
    enterprise.scope_complete = scope == 0;
    Ok(Some(enterprise))
}

/// Runs an interview, saving to `path` after the profile and after every reply.
/// `answers` is `None` for a new interview (the profile is asked first) or the
/// answers being resumed (only questions without an answer are asked).
pub fn run(
    questionnaire: &Questionnaire,
    labels: &Labels,
    lang: Lang,
    answers: Option<Answers>,
    path: &Path,
    today: &str,
    prompter: &mut dyn Prompter,
) -> anyhow::Result<Outcome> {
    let total = questionnaire.questions().count();
    let count = |answers: &Answers| {
        questionnaire
            .questions()
            .filter(|(_, q)| answers.get(&q.id).is_some())
            .count()
    };
    prompter.say(&labels.fill(
        "interview.welcome",
        lang,
        &[("questionnaire", questionnaire.title.get(lang))],
    ))?;
    let mut answers = match answers {
        Some(answers) => answers,
        None => match profile(prompter, labels, lang, today)? {
            Some(enterprise) => {
                let answers = Answers::new(questionnaire, enterprise);
                answers.save(path).context("saving the answers")?;
                answers
            }
            None => {
                return Ok(Outcome {
                    answered: 0,
                    total,
                    stopped: true,
                });
            }
        },
    };
    let pending: Vec<(usize, &str, &Question)> = questionnaire
        .questions()
        .enumerate()
        .filter(|(_, (_, q))| answers.get(&q.id).is_none())
        .map(|(index, (dimension, question))| (index, dimension.name.get(lang), question))
        .collect();
    for (index, dimension, question) in pending {
        let progress = labels.fill(
            "interview.progress",
            lang,
            &[
                ("dimension", dimension),
                ("n", &(index + 1).to_string()),
                ("total", &total.to_string()),
            ],
        );
        let view = QuestionView {
            progress,
            question,
            lang,
            current: None,
        };
        let (option, comment) = match prompter.ask(&view, labels)? {
            Reply::Option(index, comment) => match question.options.get(index) {
                Some(option) => (option.id.clone(), comment),
                None => anyhow::bail!("option {} of {} does not exist", index + 1, question.id),
            },
            Reply::DontKnow(comment) => (DONT_KNOW.to_owned(), comment),
            Reply::Skip => continue,
            Reply::Quit => {
                let answered = count(&answers);
                prompter.say(&labels.fill(
                    "interview.stopped",
                    lang,
                    &[
                        ("answered", &answered.to_string()),
                        ("total", &total.to_string()),
                        ("path", &path.display().to_string()),
                    ],
                ))?;
                return Ok(Outcome {
                    answered,
                    total,
                    stopped: true,
                });
            }
        };
        let comment = comment
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty());
        answers.set(
            questionnaire,
            Answer {
                question: question.id.clone(),
                option,
                comment,
            },
        );
        answers.save(path).context("saving the answers")?;
    }
    let answered = count(&answers);
    let key = if answered == total {
        "interview.finished"
    } else {
        "interview.stopped"
    };
    prompter.say(&labels.fill(
        key,
        lang,
        &[
            ("answered", &answered.to_string()),
            ("total", &total.to_string()),
            ("path", &path.display().to_string()),
        ],
    ))?;
    Ok(Outcome {
        answered,
        total,
        stopped: false,
    })
}

#[cfg(test)]
mod tests;
