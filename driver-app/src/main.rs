//! The Todoke driver app. Until the route, sync and proof-of-delivery commands arrive, it checks
//! tracking numbers with the same rules as the server, offline.

use std::process::ExitCode;

use todoke_shared::TrackingNumber;

const USAGE: &str = "usage: todoke-driver check <tracking number>";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["check", number @ ..] if !number.is_empty() => match TrackingNumber::parse(&number.join(" ")) {
            Ok(number) => {
                println!("{number}");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("{error}");
                ExitCode::from(2)
            }
        },
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(64)
        }
    }
}
