//! The `todoke-server` program, built inside this package so that end-to-end tests can run it as a
//! process of its own (Cargo only tells a package's tests where its own programs are).

fn main() -> anyhow::Result<()> {
    todoke_server::cli::main()
}
