//! One line per reply: for pipes, other programs and tests. Each prompt is
//! written to the output; each reply is a line of input. End of input stops
//! the interview (what was answered is already saved).

use std::io::{BufRead, Write};

use super::{Prompter, QuestionView, Reply};
use crate::questionnaire::ui::Labels;

/// A line-based prompter over any reader and writer.
pub struct Script<R, W> {
    input: R,
    output: W,
}

impl<R: BufRead, W: Write> Script<R, W> {
    /// Reads replies from `input`, writes prompts to `output`.
    pub fn new(input: R, output: W) -> Self {
        Script { input, output }
    }

    fn line(&mut self) -> anyhow::Result<Option<String>> {
        let mut line = String::new();
        if self.input.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        Ok(Some(line.trim_end_matches(['\n', '\r']).to_owned()))
    }
}

/// Parses a reply line: `N`, `?`, empty, `q`, each optionally followed by `# comment`.
pub fn parse_reply(line: &str, options: usize) -> Option<Reply> {
    let (choice, comment) = match line.split_once('#') {
        Some((choice, comment)) => (
            choice.trim(),
            Some(comment.trim().to_owned()).filter(|c| !c.is_empty()),
        ),
        None => (line.trim(), None),
    };
    match choice {
        "" => Some(Reply::Skip),
        "?" => Some(Reply::DontKnow(comment)),
        "q" | "Q" => Some(Reply::Quit),
        number => number
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=options).contains(n))
            .map(|n| Reply::Option(n - 1, comment)),
    }
}

impl<R: BufRead, W: Write> Prompter for Script<R, W> {
    fn say(&mut self, text: &str) -> anyhow::Result<()> {
        writeln!(self.output, "{text}")?;
        Ok(())
    }

    fn text(&mut self, label: &str, default: Option<&str>) -> anyhow::Result<Option<String>> {
        match default {
            Some(default) => write!(self.output, "{label} [{default}]: ")?,
            None => write!(self.output, "{label}: ")?,
        }
        self.output.flush()?;
        self.line()
    }

    fn pick(&mut self, label: &str, choices: &[String]) -> anyhow::Result<Option<usize>> {
        writeln!(self.output, "{label}")?;
        for (index, choice) in choices.iter().enumerate() {
            writeln!(self.output, "  {}) {choice}", index + 1)?;
        }
        loop {
            write!(self.output, "> ")?;
            self.output.flush()?;
            let Some(line) = self.line()? else {
                return Ok(None);
            };
            match line.trim().parse::<usize>() {
                Ok(n) if (1..=choices.len()).contains(&n) => return Ok(Some(n - 1)),
                _ => writeln!(self.output, "? {line}")?,
            }
        }
    }

    fn ask(&mut self, view: &QuestionView<'_>, labels: &Labels) -> anyhow::Result<Reply> {
        let lang = view.lang;
        writeln!(self.output, "\n{}", view.progress)?;
        writeln!(self.output, "{}", view.question.text.get(lang))?;
        if let Some(hint) = &view.question.hint {
            writeln!(self.output, "  ({})", hint.get(lang))?;
        }
        for (index, option) in view.question.options.iter().enumerate() {
            writeln!(
                self.output,
                "  {}) [{}] {}",
                index + 1,
                option.level,
                option.text.get(lang)
            )?;
        }
        writeln!(
            self.output,
            "  ?) {}",
            labels.get("interview.dont_know", lang)
        )?;
        writeln!(self.output, "{}", labels.get("interview.script_help", lang))?;
        loop {
            write!(self.output, "> ")?;
            self.output.flush()?;
            let Some(line) = self.line()? else {
                return Ok(Reply::Quit);
            };
            match parse_reply(&line, view.question.options.len()) {
                Some(reply) => return Ok(reply),
                None => writeln!(
                    self.output,
                    "{}",
                    labels.fill("interview.invalid", lang, &[("input", &line)])
                )?,
            }
        }
    }
}
