fn main() -> anyhow::Result<()> {
    todoke_server::cli::main()
}
