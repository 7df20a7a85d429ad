//! The `i4gauge` binary: everything lives in the library; see [`i4gauge::cli`].

/// mimalloc: parsing thousands of assessment documents on several threads is
/// allocation-bound, and glibc's allocator spent an eighth of a survey import
/// in malloc/free.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    i4gauge::cli::main()
}
