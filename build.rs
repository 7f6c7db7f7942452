//! Stamps the binary with the commit it was built from (`corridor
//! --version`, `GET /api/v1/version`): `CORRIDOR_COMMIT` when set (a build
//! without the repository, e.g. in a container), else `git rev-parse`.
//!
//! And tells the tests whether a PostgreSQL server was named for them
//! (`CORRIDOR_TEST_POSTGRES_URL`): without one the PostgreSQL tests are
//! built `#[ignore]`d, so `cargo test` reports them as ignored, never as
//! passed. Likewise the test that opens the docs page in chromium, built
//! only where chromium is on the PATH (or `CORRIDOR_TEST_REQUIRE_BROWSER`
//! demands it, so that its absence fails).

use std::process::Command;

fn main() {
    println!("cargo:rustc-check-cfg=cfg(corridor_postgres_tests)");
    println!("cargo:rerun-if-env-changed=CORRIDOR_TEST_POSTGRES_URL");
    if std::env::var("CORRIDOR_TEST_POSTGRES_URL").is_ok_and(|url| !url.trim().is_empty()) {
        println!("cargo:rustc-cfg=corridor_postgres_tests");
    }
    browser_tests();
    println!("cargo:rerun-if-env-changed=CORRIDOR_COMMIT");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs");
    let commit = std::env::var("CORRIDOR_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(|| {
            let out = Command::new("git")
                .args(["rev-parse", "--short=12", "HEAD"])
                .output()
                .ok()?;
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=CORRIDOR_COMMIT={commit}");
}

/// Whether the browser test is built: chromium on the PATH, or required.
fn browser_tests() {
    println!("cargo:rustc-check-cfg=cfg(corridor_browser_tests)");
    println!("cargo:rerun-if-env-changed=PATH");
    println!("cargo:rerun-if-env-changed=CORRIDOR_TEST_REQUIRE_BROWSER");
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|candidate| candidate.is_file());
    if let Some(found) = &found {
        // Removed later: built again, and the test with it goes.
        println!("cargo:rerun-if-changed={}", found.display());
    }
    if found.is_some() || std::env::var_os("CORRIDOR_TEST_REQUIRE_BROWSER").is_some() {
        println!("cargo:rustc-cfg=corridor_browser_tests");
    }
}
