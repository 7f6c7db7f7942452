//! Stamps the binary with the commit it was built from (`corridor
//! --version`, `GET /api/v1/version`): `CORRIDOR_COMMIT` when set (a build
//! without the repository, e.g. in a container), else `git rev-parse`.

use std::process::Command;

fn main() {
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
