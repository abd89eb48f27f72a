//! Rules directories: finding and reading the files, parsing them into their written shapes.
//! Validation and compilation into a [`crate::RuleSet`] live in [`crate::compile`].

pub mod source;

use crate::error::{LoadError, LoadErrorKind, LoadErrors, Location};
use serde::de::DeserializeOwned;
use source::{CategoryFile, LanguageFile, ListsFile, MatrixFile, PolicyFile};
use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/embedded_rules.rs"));

/// One rules file: the path shown in messages and its text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
    /// Byte offsets of line starts, computed on first use.
    line_starts: std::sync::OnceLock<Vec<usize>>,
}

impl SourceFile {
    pub fn new(path: PathBuf, text: String) -> Self {
        SourceFile {
            path,
            text,
            line_starts: std::sync::OnceLock::new(),
        }
    }

    /// The location of byte `offset` in this file.
    pub fn location(&self, offset: usize) -> Location {
        let starts = self.line_starts.get_or_init(|| {
            std::iter::once(0)
                .chain(self.text.match_indices('\n').map(|(i, _)| i + 1))
                .collect()
        });
        let offset = offset.min(self.text.len());
        let line = starts.partition_point(|&s| s <= offset);
        let line_start = starts[line - 1];
        let column = self
            .text
            .get(line_start..offset)
            .map_or(1, |t| t.chars().count() + 1);
        Location {
            file: self.path.clone(),
            line,
            column,
        }
    }

    /// An error at byte `offset` of this file.
    pub fn error(&self, offset: usize, kind: LoadErrorKind) -> LoadError {
        LoadError {
            location: self.location(offset),
            kind,
        }
    }
}

/// The files of a rules directory, read but not parsed.
#[derive(Debug, Clone)]
pub struct RuleSources {
    pub policy: SourceFile,
    pub matrix: SourceFile,
    pub language: SourceFile,
    /// Optional named pattern lists (`@name` in rules).
    pub lists: Option<SourceFile>,
    pub categories: Vec<SourceFile>,
}

pub const POLICY_FILE: &str = "policy.toml";
pub const MATRIX_FILE: &str = "matrix.toml";
pub const LANGUAGE_FILE: &str = "language.toml";
pub const LISTS_FILE: &str = "lists.toml";
pub const CATEGORIES_DIR: &str = "categories";

impl RuleSources {
    /// Reads a rules directory from disk.
    pub fn read_dir(dir: &Path) -> Result<Self, LoadErrors> {
        if !dir.is_dir() {
            return Err(LoadError {
                location: Location::file(dir),
                kind: LoadErrorKind::Io("not a directory".into()),
            }
            .into());
        }
        let read = |path: PathBuf| -> Result<SourceFile, LoadError> {
            match std::fs::read(&path) {
                Ok(bytes) => match String::from_utf8(bytes) {
                    Ok(text) => Ok(SourceFile::new(path, text)),
                    Err(e) => Err(LoadError {
                        location: Location::at(
                            &path,
                            &String::from_utf8_lossy(e.as_bytes()),
                            e.utf8_error().valid_up_to(),
                        ),
                        kind: LoadErrorKind::Io("file is not valid UTF-8".into()),
                    }),
                },
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(LoadError {
                    location: Location::file(path),
                    kind: LoadErrorKind::MissingFile,
                }),
                Err(e) => Err(LoadError {
                    location: Location::file(path),
                    kind: LoadErrorKind::Io(e.to_string()),
                }),
            }
        };
        let mut errors = Vec::new();
        let mut take = |r: Result<SourceFile, LoadError>| match r {
            Ok(f) => Some(f),
            Err(e) => {
                errors.push(e);
                None
            }
        };
        let policy = take(read(dir.join(POLICY_FILE)));
        let matrix = take(read(dir.join(MATRIX_FILE)));
        let language = take(read(dir.join(LANGUAGE_FILE)));
        let lists_path = dir.join(LISTS_FILE);
        let lists = if lists_path.exists() {
            take(read(lists_path))
        } else {
            None
        };
        let cat_dir = dir.join(CATEGORIES_DIR);
        let mut paths = Vec::new();
        match std::fs::read_dir(&cat_dir) {
            Ok(entries) => {
                for entry in entries.flatten() {
                    let path = entry.path();
                    if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
                        paths.push(path);
                    }
                }
            }
            Err(e) => {
                let kind = if e.kind() == std::io::ErrorKind::NotFound {
                    LoadErrorKind::MissingFile
                } else {
                    LoadErrorKind::Io(e.to_string())
                };
                take(Err(LoadError {
                    location: Location::file(&cat_dir),
                    kind,
                }));
            }
        }
        paths.sort();
        let categories: Vec<_> = paths.into_iter().filter_map(|p| take(read(p))).collect();
        match (policy, matrix, language) {
            (Some(policy), Some(matrix), Some(language)) if errors.is_empty() => Ok(RuleSources {
                policy,
                matrix,
                language,
                lists,
                categories,
            }),
            _ => Err(LoadErrors(errors)),
        }
    }

    /// The default rules embedded in the binary.
    pub fn embedded() -> Self {
        let file = |name: &str| {
            let text = EMBEDDED_RULES
                .iter()
                .find(|(path, _)| *path == name)
                .map(|(_, text)| (*text).to_owned())
                .unwrap_or_default();
            SourceFile::new(Path::new("<embedded>").join(name), text)
        };
        let categories = EMBEDDED_RULES
            .iter()
            .filter(|(path, _)| path.starts_with("categories/"))
            .map(|(path, _)| file(path))
            .collect();
        RuleSources {
            policy: file(POLICY_FILE),
            matrix: file(MATRIX_FILE),
            language: file(LANGUAGE_FILE),
            lists: EMBEDDED_RULES
                .iter()
                .any(|(p, _)| *p == LISTS_FILE)
                .then(|| file(LISTS_FILE)),
            categories,
        }
    }
}

/// The rule files parsed into their written shapes.
pub struct ParsedRules {
    pub policy: (SourceFile, PolicyFile),
    pub matrix: (SourceFile, MatrixFile),
    pub language: (SourceFile, LanguageFile),
    pub lists: Option<(SourceFile, ListsFile)>,
    pub categories: Vec<(SourceFile, CategoryFile)>,
}

/// Parses one TOML file into `T`, turning serde's message into a located error.
pub fn parse_file<T: DeserializeOwned>(file: &SourceFile) -> Result<T, LoadError> {
    toml::from_str::<T>(&file.text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        let message = e.message().trim().to_owned();
        let kind = if message.starts_with("unknown field")
            || message.starts_with("missing field")
            || message.starts_with("invalid type")
            || message.starts_with("unknown variant")
        {
            LoadErrorKind::Schema(message)
        } else {
            LoadErrorKind::Syntax(message)
        };
        file.error(offset, kind)
    })
}

impl RuleSources {
    /// Parses every file, collecting all errors.
    pub fn parse(self) -> Result<ParsedRules, LoadErrors> {
        let RuleSources {
            policy,
            matrix,
            language,
            lists,
            mut categories,
        } = self;
        // Parsing is a good part of loading: about half the text (the first category files)
        // parses on a second thread while this one parses the rest.
        let others = [&policy, &matrix, &language].into_iter().chain(&lists);
        let late = categories.split_off(half_of_text(others, &categories));
        let (parsed, early) = std::thread::scope(|scope| {
            let early = scope.spawn(|| parse_categories(categories));
            let parsed = (
                parse_file::<PolicyFile>(&policy),
                parse_file::<MatrixFile>(&matrix),
                parse_file::<LanguageFile>(&language),
                lists.map(|file| parse_file::<ListsFile>(&file).map(|parsed| (file, parsed))),
                parse_categories(late),
            );
            let early = early
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (parsed, early)
        });
        let (p, m, l, lists, late) = parsed;
        let mut errors = Vec::new();
        let p = ok_or_push(p, &mut errors);
        let m = ok_or_push(m, &mut errors);
        let l = ok_or_push(l, &mut errors);
        let lists = lists.and_then(|r| ok_or_push(r, &mut errors));
        let categories: Vec<_> = early
            .into_iter()
            .chain(late)
            .filter_map(|r| ok_or_push(r, &mut errors))
            .collect();
        match (p, m, l) {
            (Some(p), Some(m), Some(l)) if errors.is_empty() => Ok(ParsedRules {
                policy: (policy, p),
                matrix: (matrix, m),
                language: (language, l),
                lists,
                categories,
            }),
            _ => Err(LoadErrors(errors)),
        }
    }
}

/// The value, or `None` with the error pushed to `errors`.
fn ok_or_push<T>(result: Result<T, LoadError>, errors: &mut Vec<LoadError>) -> Option<T> {
    result.map_err(|e| errors.push(e)).ok()
}

/// How many of the first category files hold about half the text of them and the `others`.
fn half_of_text<'a>(
    others: impl Iterator<Item = &'a SourceFile>,
    categories: &'a [SourceFile],
) -> usize {
    let total: usize = others.chain(categories).map(|f| f.text.len()).sum();
    let mut early = 0;
    categories
        .iter()
        .take_while(|f| {
            early += f.text.len();
            2 * early <= total
        })
        .count()
}

/// Parses category files, in order.
fn parse_categories(files: Vec<SourceFile>) -> Vec<Result<(SourceFile, CategoryFile), LoadError>> {
    files
        .into_iter()
        .map(|file| {
            parse_file::<CategoryFile>(&file).map(|mut parsed| {
                parsed.spread_shared_exclusions();
                (file, parsed)
            })
        })
        .collect()
}
