//! `i4gauge questionnaire`: check and show questionnaires.

use std::path::PathBuf;

use clap::Subcommand;

use super::Outcome;
use crate::questionnaire::{Questionnaire, Sources};

/// Subcommands of `i4gauge questionnaire`.
#[derive(Debug, Subcommand)]
pub enum QuestionnaireCommand {
    /// Validate a questionnaire directory (questionnaire.toml, rules.toml,
    /// actions.toml); every problem is printed as FILE:LINE:COLUMN: FIELD: MESSAGE.
    ///
    /// Exits 0 when valid, 2 otherwise.
    Check {
        /// The directory; the built-in questionnaire when omitted.
        #[arg(value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// Runs a `questionnaire` subcommand.
pub fn run(command: QuestionnaireCommand) -> anyhow::Result<Outcome> {
    match command {
        QuestionnaireCommand::Check { dir } => {
            let sources = match &dir {
                Some(dir) => Sources::read_dir(dir)?,
                None => Sources::builtin(),
            };
            let questionnaire = Questionnaire::load(&sources)?;
            let questions = questionnaire.questions().count();
            println!(
                "{} {}: valid — {} dimensions, {} questions, {} evidence rules, {} actions",
                questionnaire.id,
                questionnaire.version,
                questionnaire.dimensions.len(),
                questions,
                questionnaire.rules.len(),
                questionnaire.actions.len()
            );
            Ok(Outcome::Success)
        }
    }
}
