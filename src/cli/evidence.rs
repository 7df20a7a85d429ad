//! `i4gauge evidence`: check evidence documents.

use std::path::PathBuf;

use clap::Subcommand;

use super::Outcome;
use crate::evidence::Evidence;

/// Subcommands of `i4gauge evidence`.
#[derive(Debug, Subcommand)]
pub enum EvidenceCommand {
    /// Check that files are evidence this i4gauge can read, and summarise them.
    ///
    /// Exits 0 when every file is valid and complete, 1 when a valid file comes
    /// from an incomplete (interrupted) scan, 2 when a file cannot be read.
    Check {
        /// Evidence files (JSON).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Print the summaries as JSON (one array).
        #[arg(long)]
        json: bool,
    },
}

#[derive(serde::Serialize)]
struct Summary {
    file: String,
    schema_version: String,
    complete: bool,
    runs: usize,
    assets: usize,
    diagnostics: usize,
}

/// Runs an `evidence` subcommand.
pub fn run(command: EvidenceCommand) -> anyhow::Result<Outcome> {
    match command {
        EvidenceCommand::Check { files, json } => {
            let mut summaries = Vec::new();
            for file in &files {
                let evidence = Evidence::load(file)?;
                summaries.push(Summary {
                    file: file.display().to_string(),
                    schema_version: evidence.schema_version.to_string(),
                    complete: evidence.is_complete(),
                    runs: evidence.runs.len(),
                    assets: evidence.assets.len(),
                    diagnostics: evidence.diagnostics.len(),
                });
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&summaries)?);
            } else {
                for s in &summaries {
                    println!(
                        "{}: evidence {}, {} run(s), {} asset(s), {} diagnostic(s){}",
                        s.file,
                        s.schema_version,
                        s.runs,
                        s.assets,
                        s.diagnostics,
                        if s.complete { "" } else { ", INCOMPLETE scan" }
                    );
                }
            }
            Ok(if summaries.iter().all(|s| s.complete) {
                Outcome::Success
            } else {
                Outcome::Partial
            })
        }
    }
}
