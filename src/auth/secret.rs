//! Secrets that the operator may leave empty are generated once into the data
//! folder, readable by the owner only, so restarts keep sessions valid.

use std::io::Write;
use std::path::Path;

/// Reads the secret in `dir/name`, creating it with `bytes` random bytes
/// (hex) when it does not exist yet.
pub fn load_or_create(dir: &Path, name: &str, bytes: usize) -> std::io::Result<String> {
    let path = dir.join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => return Ok(text.trim().to_string()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    crate::files::create_private_dir(dir)?;
    let mut raw = vec![0u8; bytes];
    getrandom::fill(&mut raw).map_err(std::io::Error::other)?;
    let secret = super::hex(&raw);
    match crate::files::create_private_file(&path) {
        Ok(mut file) => {
            file.write_all(secret.as_bytes())?;
            file.sync_all()?;
            Ok(secret)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok(std::fs::read_to_string(&path)?.trim().to_string())
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_secret_is_kept_and_private() {
        let dir = std::env::temp_dir().join(format!("corridor-secret-{}", uuid::Uuid::new_v4()));
        let first = load_or_create(&dir, "jwt_secret", 32).unwrap();
        let second = load_or_create(&dir, "jwt_secret", 32).unwrap();
        assert_eq!(first, second);
        assert_eq!(first.len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("jwt_secret"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
