//! The native command-line program (`src/cli.rs`).

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(fxlabel::cli::main(std::env::args_os()))
}
