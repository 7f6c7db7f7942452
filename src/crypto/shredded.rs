//! The shred list: the ids of the cases whose data keys were destroyed,
//! kept in a file of its own beside the master key, outside the database.
//! A database restored from a backup taken before a shred still holds that
//! case's wrapped key, which the same master key would open; the list makes
//! it count as destroyed all the same. Ids only: a case id is no personal
//! data.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

/// The cases shredded, in memory, and the file that keeps them.
#[derive(Debug, Default)]
pub struct ShredList {
    file: Option<PathBuf>,
    ids: RwLock<HashSet<String>>,
}

impl ShredList {
    /// A list kept nowhere but in memory (tools and tests that keep no file).
    pub fn in_memory() -> Self {
        Self::default()
    }

    /// The list in `file` (none yet is an empty list); shreds are appended
    /// to it.
    pub fn open(file: &Path) -> Result<Self, String> {
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => {
                return Err(format!(
                    "cannot read the shred list {}: {e}",
                    file.display()
                ))
            }
        };
        let ids = parse(&text);
        Ok(Self {
            file: Some(file.to_path_buf()),
            ids: RwLock::new(ids),
        })
    }

    pub fn contains(&self, id: &str) -> bool {
        let ids = self.ids.read().unwrap_or_else(|e| e.into_inner());
        !ids.is_empty() && ids.contains(id)
    }

    /// Adds `id`, durably (appended and synced) before it returns.
    pub fn record(&self, id: &str) -> std::io::Result<()> {
        let mut ids = self.ids.write().unwrap_or_else(|e| e.into_inner());
        if !ids.insert(id.to_string()) {
            return Ok(());
        }
        let Some(path) = &self.file else {
            return Ok(());
        };
        if let Some(dir) = path.parent() {
            crate::files::create_private_dir(dir)?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.append(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path)?;
        writeln!(file, "{id}")?;
        file.sync_all()
    }

    /// Where the list is kept, if anywhere.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }
}

/// One id a line; blank lines and anything after `#` are passed over.
fn parse(text: &str) -> HashSet<String> {
    text.lines()
        .map(|line| line.split('#').next().unwrap_or_default().trim())
        .filter(|line| !line.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shred_is_kept_in_the_file_and_read_back() {
        let dir = std::env::temp_dir().join(format!("shred-list-{}", uuid::Uuid::new_v4()));
        let file = dir.join("keys").join("shredded-cases");
        let list = ShredList::open(&file).unwrap();
        assert!(!list.contains("case-1"));
        list.record("case-1").unwrap();
        list.record("case-1").unwrap();
        list.record("case-2").unwrap();
        assert!(list.contains("case-1"));
        let again = ShredList::open(&file).unwrap();
        assert!(again.contains("case-1") && again.contains("case-2"));
        assert!(!again.contains("case-3"));
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "case-1\ncase-2\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn blank_lines_and_comments_are_passed_over() {
        let ids = parse("# shredded\n\na  # by hand\n b\n");
        assert_eq!(ids, HashSet::from(["a".to_string(), "b".to_string()]));
    }
}
