//! Times the proof photo pipeline on one thread, for `bench/photos.sh` (build with `--release`).
//!
//! `photo_bench PHOTO [RUNS [OUT_DIR]]` processes PHOTO RUNS times (default 15) and prints the median time to make
//! its display image and thumbnail, writing the last ones to OUT_DIR if given. `photo_bench --bomb PHOTO [RUNS]`
//! prints the median time to refuse PHOTO, which must be refused.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use todoke_server::pod::photo::{PhotoError, PhotoLimits, ProcessedPhoto, process};

const USAGE: &str = "usage: photo_bench PHOTO [RUNS [OUT_DIR]] | photo_bench --bomb PHOTO [RUNS]";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (bomb, args) = match args.split_first() {
        Some((flag, rest)) if flag == "--bomb" => (true, rest),
        _ => (false, args.as_slice()),
    };
    let [path, rest @ ..] = args else { bail!(USAGE) };
    let runs: usize = rest.first().map(|s| s.parse()).transpose().context("RUNS")?.unwrap_or(15);
    let bytes = std::fs::read(path).with_context(|| format!("reading {path}"))?;
    let limits = PhotoLimits::default();

    let timed = |_| {
        let start = Instant::now();
        let result = process(&bytes, &limits);
        (start.elapsed(), result)
    };
    let (mut times, mut results): (Vec<Duration>, Vec<_>) = (0..runs).map(timed).unzip();
    let Some(result) = results.pop() else { bail!(USAGE) };
    times.sort();
    let median = times[runs / 2];

    match (bomb, result) {
        (false, Ok(photo)) => report_photo(path, &photo, median, runs, rest.get(1)),
        (false, Err(error)) => bail!("{path}: {error}"),
        (true, Err(error)) => report_refusal(path, &error, median, runs),
        (true, Ok(_)) => bail!("{path} was accepted; a bomb must be refused"),
    }
}

fn report_photo(
    path: &str,
    photo: &ProcessedPhoto,
    median: Duration,
    runs: usize,
    out_dir: Option<&String>,
) -> anyhow::Result<()> {
    println!(
        "{path}: median {:.1} ms of {runs} runs; display {}x{} {} KB, thumbnail {} KB",
        median.as_secs_f64() * 1e3,
        photo.width,
        photo.height,
        photo.display.len() / 1024,
        photo.thumbnail.len() / 1024,
    );
    if let Some(dir) = out_dir {
        let dir = Path::new(dir);
        std::fs::write(dir.join("display.jpg"), &photo.display).context("writing the display image")?;
        std::fs::write(dir.join("thumbnail.jpg"), &photo.thumbnail).context("writing the thumbnail")?;
    }
    Ok(())
}

fn report_refusal(path: &str, error: &PhotoError, median: Duration, runs: usize) -> anyhow::Result<()> {
    println!("{path}: refused in median {:.1} us of {runs} runs: {}", median.as_secs_f64() * 1e6, error.code());
    Ok(())
}
