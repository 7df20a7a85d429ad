//! Arrow-key menus on a terminal (the `inquire` crate). Ctrl-C or Esc stops
//! the interview; every reply before it is already saved.

use inquire::error::InquireError;
use inquire::{Select, Text};

use super::{Prompter, QuestionView, Reply};
use crate::questionnaire::ui::Labels;

/// The interactive terminal prompter.
#[derive(Debug, Default)]
pub struct Terminal;

/// `Ok(None)` when the person stopped the prompt.
fn stopped<T>(result: Result<T, InquireError>) -> anyhow::Result<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(InquireError::OperationCanceled | InquireError::OperationInterrupted) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

impl Prompter for Terminal {
    fn say(&mut self, text: &str) -> anyhow::Result<()> {
        eprintln!("{text}");
        Ok(())
    }

    fn text(&mut self, label: &str, default: Option<&str>) -> anyhow::Result<Option<String>> {
        let mut prompt = Text::new(label);
        if let Some(default) = default {
            prompt = prompt.with_default(default);
        }
        stopped(prompt.prompt())
    }

    fn pick(&mut self, label: &str, choices: &[String]) -> anyhow::Result<Option<usize>> {
        stopped(Select::new(label, choices.to_vec()).raw_prompt())
            .map(|choice| choice.map(|c| c.index))
    }

    fn ask(&mut self, view: &QuestionView<'_>, labels: &Labels) -> anyhow::Result<Reply> {
        let lang = view.lang;
        eprintln!("\n{}", view.progress);
        if let Some(hint) = &view.question.hint {
            eprintln!("  {}", hint.get(lang));
        }
        let mut choices: Vec<String> = view
            .question
            .options
            .iter()
            .map(|option| format!("[{}] {}", option.level, option.text.get(lang)))
            .collect();
        let options = choices.len();
        choices.extend([
            labels.get("interview.dont_know", lang).to_owned(),
            labels.get("interview.skip", lang).to_owned(),
            labels.get("interview.quit", lang).to_owned(),
        ]);
        let select = Select::new(view.question.text.get(lang), choices)
            .with_page_size(options + 3)
            .with_starting_cursor(view.current.unwrap_or(0));
        let Some(choice) = stopped(select.raw_prompt())? else {
            return Ok(Reply::Quit);
        };
        let index = choice.index;
        if index == options + 1 {
            return Ok(Reply::Skip);
        }
        if index == options + 2 {
            return Ok(Reply::Quit);
        }
        // Leaving the comment prompt keeps the choice, without a comment.
        let comment = stopped(Text::new(labels.get("interview.comment", lang)).prompt())?
            .filter(|c| !c.trim().is_empty());
        Ok(if index == options {
            Reply::DontKnow(comment)
        } else {
            Reply::Option(index, comment)
        })
    }
}
