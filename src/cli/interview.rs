//! `i4gauge interview`: the questionnaire in the terminal.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::bail;
use clap::Args;

use super::Outcome;
use crate::answers::Answers;
use crate::interview::{self, script::Script, terminal::Terminal};
use crate::questionnaire::Lang;
use crate::questionnaire::ui::Labels;

/// Arguments of `i4gauge interview`.
#[derive(Debug, Args)]
#[command(after_help = "\
Asks the enterprise profile, then every question with its five level descriptors. The
answers file is saved (atomically) after every reply: stop with Ctrl-C or Esc at any time
and continue with --resume. On a terminal the choices are menus; when input is not a
terminal (or with --script) each reply is a line: the option number 1-5, `?` for don't
know, an empty line to skip, `q` to stop, and text after `#` as a comment.

Exit codes: 0 every question answered; 1 stopped or some questions skipped; 2 error.

Examples:
  i4gauge interview --lang kk -o zavod.toml
  i4gauge interview --resume zavod.toml
  printf 'Acme\\n\\n\\n\\n5\\n\\n\\n1\\n3\\n?\\n' | i4gauge interview --script -o acme.toml")]
pub struct InterviewArgs {
    /// Language of questions and prompts.
    #[arg(long, value_enum, default_value = "en", env = "I4GAUGE_LANG")]
    lang: Lang,
    /// Where to save the answers (TOML, or JSON with a .json name). Refuses to
    /// overwrite an existing file: use --resume for that.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Continue an interview saved in FILE (saved back there unless -o is given).
    #[arg(long, value_name = "FILE")]
    resume: Option<PathBuf>,
    /// A questionnaire directory instead of the built-in one.
    #[arg(long, value_name = "DIR")]
    questionnaire: Option<PathBuf>,
    /// Read one reply per line even on a terminal.
    #[arg(long)]
    script: bool,
}

/// Runs `i4gauge interview`.
pub fn run(args: InterviewArgs) -> anyhow::Result<Outcome> {
    let questionnaire = super::assess::questionnaire(args.questionnaire.as_ref())?;
    let labels = Labels::builtin();
    let (answers, path) = match (&args.resume, &args.output) {
        (Some(resume), output) => {
            let answers = Answers::load(resume, &questionnaire)?;
            (
                Some(answers),
                output.clone().unwrap_or_else(|| resume.clone()),
            )
        }
        (None, output) => {
            let path = output
                .clone()
                .unwrap_or_else(|| PathBuf::from("answers.toml"));
            if path.exists() {
                bail!(
                    "{} exists; continue it with --resume {0}, or name another file with -o",
                    path.display()
                );
            }
            (None, path)
        }
    };
    let today = chrono::Local::now().format("%Y-%m-%d").to_string();
    let mut script;
    let prompter: &mut dyn interview::Prompter = if args.script || !std::io::stdin().is_terminal() {
        script = Script::new(std::io::stdin().lock(), std::io::stdout().lock());
        &mut script
    } else {
        &mut Terminal
    };
    let outcome = interview::run(
        &questionnaire,
        &labels,
        args.lang,
        answers,
        &path,
        &today,
        prompter,
    )?;
    Ok(if outcome.stopped || outcome.answered < outcome.total {
        Outcome::Partial
    } else {
        Outcome::Success
    })
}
