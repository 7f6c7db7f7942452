//! What this build is: its version and the commit it was built from.

/// The package version, e.g. `0.1.0`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The commit the binary was built from (12 hex digits), or `unknown`.
pub const COMMIT: &str = env!("CORRIDOR_COMMIT");
/// What `corridor --version` prints after the name.
pub const LONG: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("CORRIDOR_COMMIT"),
    ")"
);
