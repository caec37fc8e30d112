fn main() -> std::process::ExitCode {
    todoke_driver::cli::main()
}
