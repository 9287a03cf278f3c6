//! The `readiness` binary: parse arguments, run, map the outcome to an exit code.

use clap::Parser;

fn main() {
    let cli = readiness::cli::Cli::parse();
    let code = readiness::app::main(cli);
    std::process::exit(code);
}
