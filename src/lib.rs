//! i4gauge: evidence-based Industry 2.0–4.0 maturity assessment, from the plant
//! network up.
//!
//! The pipeline is the architecture: `discover → evidence → assess → report`, plus
//! `history` and `survey`. This crate is the library; `src/main.rs` and [`cli`] are
//! a thin command-line layer over it. See `ARCHITECTURE.md` for the code map.

pub mod answers;
pub mod assess;
pub mod cli;
pub mod demo;
pub mod discover;
pub mod evidence;
pub mod history;
pub mod interview;
pub mod logging;
pub mod questionnaire;
pub mod report;
pub mod scale;
pub mod sim;
pub mod source;
pub mod survey;
