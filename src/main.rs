use clap::Parser;

fn main() -> std::process::ExitCode {
    corridor::cli::run(corridor::cli::Cli::parse())
}
