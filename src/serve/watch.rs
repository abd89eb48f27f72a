//! Noticing that a rules directory changed, by polling the size and modification time of the
//! files the loader reads. Polling works the same on every file system (network mounts and
//! container volumes included) and costs a dozen `stat` calls per interval.

use crate::rules::{CATEGORIES_DIR, LANGUAGE_FILE, LISTS_FILE, MATRIX_FILE, POLICY_FILE};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// What the rules files of a directory look like from the outside: each file the loader reads
/// (or would read), with its size and modification time when it exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Signature(Vec<(PathBuf, Option<(u64, SystemTime)>)>);

impl Signature {
    /// Looks at `dir` now. Never fails: a missing or unreadable file is part of the picture.
    pub(crate) fn of(dir: &Path) -> Signature {
        let mut paths: Vec<PathBuf> = [POLICY_FILE, MATRIX_FILE, LANGUAGE_FILE, LISTS_FILE]
            .iter()
            .map(|name| dir.join(name))
            .collect();
        if let Ok(entries) = std::fs::read_dir(dir.join(CATEGORIES_DIR)) {
            let mut categories: Vec<PathBuf> = entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                .collect();
            categories.sort();
            paths.extend(categories);
        }
        Signature(
            paths
                .into_iter()
                .map(|path| {
                    let seen = std::fs::metadata(&path)
                        .ok()
                        .map(|m| (m.len(), m.modified().unwrap_or(SystemTime::UNIX_EPOCH)));
                    (path, seen)
                })
                .collect(),
        )
    }
}

/// Decides when to reload: after a change, once the directory has looked the same for one
/// more poll (so an editor's or a deploy's series of writes is reloaded once, complete).
#[derive(Debug)]
pub(crate) struct ChangeDetector {
    /// The directory as it was at the last load attempt.
    loaded: Signature,
    /// A changed picture seen at the last poll, waiting to settle.
    settling: Option<Signature>,
}

impl ChangeDetector {
    pub(crate) fn new(now: Signature) -> Self {
        ChangeDetector {
            loaded: now,
            settling: None,
        }
    }

    /// Feeds one poll; `true` means "reload now".
    pub(crate) fn poll(&mut self, now: Signature) -> bool {
        if now == self.loaded {
            self.settling = None;
            return false;
        }
        if self.settling.as_ref() == Some(&now) {
            self.loaded = now;
            self.settling = None;
            return true;
        }
        self.settling = Some(now);
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(files: &[(&str, u64)]) -> Signature {
        Signature(
            files
                .iter()
                .map(|(p, len)| (PathBuf::from(p), Some((*len, SystemTime::UNIX_EPOCH))))
                .collect(),
        )
    }

    #[test]
    fn reloads_once_after_a_change_settles() {
        let mut d = ChangeDetector::new(sig(&[("a", 1)]));
        assert!(!d.poll(sig(&[("a", 1)])));
        assert!(!d.poll(sig(&[("a", 2)])), "first sight of a change waits");
        assert!(!d.poll(sig(&[("a", 3)])), "still being written");
        assert!(d.poll(sig(&[("a", 3)])), "settled: reload");
        assert!(!d.poll(sig(&[("a", 3)])), "reloaded once");
    }

    #[test]
    fn a_change_undone_before_it_settles_reloads_nothing() {
        let mut d = ChangeDetector::new(sig(&[("a", 1)]));
        assert!(!d.poll(sig(&[("a", 2)])));
        assert!(!d.poll(sig(&[("a", 1)])));
        assert!(!d.poll(sig(&[("a", 1)])));
    }

    #[test]
    fn signature_sees_new_removed_and_rewritten_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(CATEGORIES_DIR)).unwrap();
        let a = Signature::of(dir.path());
        std::fs::write(dir.path().join("categories/x.toml"), "x").unwrap();
        let b = Signature::of(dir.path());
        assert_ne!(a, b);
        std::fs::write(dir.path().join("categories/x.toml"), "xy").unwrap();
        let c = Signature::of(dir.path());
        assert_ne!(b, c);
        std::fs::remove_file(dir.path().join("categories/x.toml")).unwrap();
        assert_eq!(a, Signature::of(dir.path()));
        std::fs::write(dir.path().join("categories/README.md"), "not rules").unwrap();
        assert_eq!(a, Signature::of(dir.path()), "only .toml files count");
    }
}
