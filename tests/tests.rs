//! The integration tests: one binary, one module per feature.
//!
//! Every test that needs devices starts its own simulated plant on loopback with
//! ephemeral ports ([`util::start`]), so tests run in parallel and never touch
//! anything but 127.0.0.0/8.

mod assess;
mod browser;
mod cli;
mod discover;
mod history;
mod interop;
mod interop_opcua;
mod interop_servers;
mod questionnaire;
mod sim_modbus;
mod sim_opcua;
mod survey;
mod util;
