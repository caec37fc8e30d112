//! The `todoke-driver` program, built inside this package so that end-to-end tests can run it as a
//! process of its own.

fn main() -> std::process::ExitCode {
    todoke_driver::cli::main()
}
