//! The `i4gauge` binary: everything lives in the library; see [`i4gauge::cli`].

fn main() -> std::process::ExitCode {
    i4gauge::cli::main()
}
