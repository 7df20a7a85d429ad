//! Tracing setup for the command line.
//!
//! Diagnostics go to stderr; stdout is reserved for data (`--json`, manifests).
//! async-opcua logs ERROR lines from `opcua_crypto`, `opcua_core` and
//! `opcua_client` even for SecurityPolicy None sessions and while probing
//! ports that are not OPC UA: they are noise for a user, so those targets are
//! capped at `off` unless `-vv` (or `RUST_LOG`) asks for them.

use tracing_subscriber::{EnvFilter, fmt};

/// How much to log, from `-q`/`-v` counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    /// Errors only (`-q`).
    Quiet,
    /// Warnings and errors (default).
    Normal,
    /// Info from i4gauge (`-v`).
    Verbose,
    /// Debug from i4gauge and the protocol libraries (`-vv` and more).
    Debug,
}

impl Verbosity {
    /// From the number of `-v` and `-q` flags.
    pub fn from_counts(verbose: u8, quiet: bool) -> Verbosity {
        match (quiet, verbose) {
            (true, _) => Verbosity::Quiet,
            (false, 0) => Verbosity::Normal,
            (false, 1) => Verbosity::Verbose,
            (false, _) => Verbosity::Debug,
        }
    }

    /// The `EnvFilter` directives for this verbosity.
    pub fn directives(self) -> String {
        let (own, libraries) = match self {
            Verbosity::Quiet => ("error", "off"),
            Verbosity::Normal => ("warn", "off"),
            Verbosity::Verbose => ("info", "off"),
            Verbosity::Debug => ("debug", "debug"),
        };
        format!(
            "{own},i4gauge={own},opcua_crypto={libraries},opcua_core={libraries},\
             opcua_client={libraries},opcua_server={libraries},opcua_types={libraries},\
             tokio_modbus={libraries}"
        )
    }
}

/// Installs the global subscriber. `RUST_LOG`, when set, replaces the defaults.
pub fn init(verbosity: Verbosity) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(verbosity.directives()));
    let _ = fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(verbosity == Verbosity::Debug)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opcua_noise_is_off_unless_debugging() {
        for verbosity in [Verbosity::Quiet, Verbosity::Normal, Verbosity::Verbose] {
            let directives = verbosity.directives();
            for target in ["opcua_crypto", "opcua_core", "opcua_client"] {
                assert!(
                    directives.contains(&format!("{target}=off")),
                    "{directives}"
                );
            }
        }
        assert!(Verbosity::Debug.directives().contains("opcua_client=debug"));
        assert_eq!(Verbosity::from_counts(0, true), Verbosity::Quiet);
        assert_eq!(Verbosity::from_counts(3, false), Verbosity::Debug);
    }
}
