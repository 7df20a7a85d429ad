//! The command-line interface: argument definitions and dispatch, nothing else.
//!
//! Each subcommand has a module holding its clap `Args` struct and a `run`
//! function that calls into the library and turns the result into output and
//! an [`Outcome`]. Exit codes are documented on [`Outcome`] and in `--help`.

mod assess;
mod demo;
mod discover;
mod evidence;
mod history;
mod interview;
mod questionnaire;
mod report;
mod sim;
mod survey;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::logging::{self, Verbosity};

const AFTER_HELP: &str = "\
Exit codes:
  0  success
  1  the job ran but the result is partial or has findings (e.g. an interrupted scan)
  2  usage error or fatal error (bad arguments, unreadable input, cannot bind)

Start with `i4gauge demo`: the built-in simulated plant discovered, assessed and reported.";

/// i4gauge: where an industrial enterprise stands between Industry 2.0 and 4.0,
/// with evidence from its own network.
#[derive(Debug, Parser)]
#[command(name = "i4gauge", version, about, long_about = None, after_help = AFTER_HELP)]
pub struct Cli {
    /// More output on stderr (-v: progress details, -vv: protocol debugging).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Find Modbus TCP devices on the named addresses and write the evidence.
    Discover(Box<discover::DiscoverArgs>),
    /// Run a simulated plant (Modbus TCP PLCs, a gateway, OPC UA servers) until Ctrl-C.
    Sim(sim::SimArgs),
    /// Check and summarise evidence documents written by discovery.
    #[command(subcommand)]
    Evidence(evidence::EvidenceCommand),
    /// The whole pipeline on the built-in simulated plant: discover, assess, report.
    Demo(demo::DemoArgs),
    /// Interview the enterprise in kk/ru/en; answers are saved after every reply.
    Interview(interview::InterviewArgs),
    /// Score answers and evidence: declared and verified levels, contradictions, roadmap.
    Assess(assess::AssessArgs),
    /// Write the HTML report of an assessment.
    Report(report::ReportArgs),
    /// Check questionnaire files (questions, evidence rules, action library).
    #[command(subcommand)]
    Questionnaire(questionnaire::QuestionnaireCommand),
    /// The store of repeat assessments: import, list, show, compare, export.
    History(history::HistoryArgs),
    /// Many enterprises: import rounds of assessments, publish the anonymised national picture.
    Survey(survey::SurveyArgs),
}

/// How a command ended; maps to the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0: done, nothing to flag.
    Success,
    /// Exit 1: done, but partial or with findings.
    Partial,
}

impl From<Outcome> for ExitCode {
    fn from(outcome: Outcome) -> ExitCode {
        match outcome {
            Outcome::Success => ExitCode::SUCCESS,
            Outcome::Partial => ExitCode::from(1),
        }
    }
}

/// Exit code for usage and fatal errors.
pub const EXIT_FATAL: u8 = 2;

/// Parses the command line, runs the command and returns the exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(Verbosity::from_counts(cli.verbose, cli.quiet));
    match run(cli) {
        Ok(outcome) => outcome.into(),
        Err(error) => {
            eprintln!("i4gauge: error: {error:#}");
            ExitCode::from(EXIT_FATAL)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<Outcome> {
    match cli.command {
        Command::Discover(args) => discover::run(*args, cli.quiet),
        Command::Sim(args) => sim::run(args, cli.quiet),
        Command::Evidence(command) => evidence::run(command),
        Command::Demo(args) => demo::run(args, cli.quiet),
        Command::Interview(args) => interview::run(args),
        Command::Report(args) => report::run(args),
        Command::Assess(args) => assess::run(args),
        Command::Questionnaire(command) => questionnaire::run(command),
        Command::History(args) => history::run(args),
        Command::Survey(args) => survey::run(args, cli.quiet),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
