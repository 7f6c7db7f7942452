//! `corridor demo`: synthetic cases to try Corridor on (see
//! `operations::demo`), with a progress bar for large runs.

use indicatif::{ProgressBar, ProgressStyle};

use super::commands::now;
use super::Opened;
use crate::config::Config;
use crate::operations::demo;

pub fn run(config: &Config, seed: u64, cases: usize) -> Result<(), String> {
    let opened = Opened::new(config)?;
    let bar = ProgressBar::new(cases as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} cases, {per_sec}, {eta} left")
            .map_err(|e| e.to_string())?,
    );
    let filled = demo::fill(
        &mut *opened.conn()?,
        &opened.context,
        config.retention.closed_personal_data.0,
        seed,
        cases,
        now(),
        |n| bar.set_position(n as u64),
    )
    .map_err(|e| e.to_string())?;
    bar.finish_and_clear();
    println!(
        "wrote {} synthetic case(s) (seed {seed}) with their timelines, alerts and \
         sealed personal data; every name is invented",
        filled.cases
    );
    if filled.shredded > 0 {
        println!(
            "{} of them closed longer ago than the retention period ({}): written as \
             shredded already, as the retention sweep would have left them",
            filled.shredded,
            crate::domain::stall::humane(config.retention.closed_personal_data.0)
        );
    }
    Ok(())
}
