//! Typed errors of the library. The CLI renders them for people; tests match on their kinds.

use std::fmt;
use std::path::PathBuf;

/// Where in a rules file something is wrong. Lines and columns are 1-based.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
}

impl Location {
    /// Resolves a byte offset of `source` into a line and column.
    pub fn at(file: impl Into<PathBuf>, source: &str, offset: usize) -> Self {
        let offset = offset.min(source.len());
        let before = &source.as_bytes()[..offset];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        let column = source[line_start..offset].chars().count() + 1;
        Location {
            file: file.into(),
            line,
            column,
        }
    }

    /// A location naming only the file (for problems with the file as a whole).
    pub fn file(file: impl Into<PathBuf>) -> Self {
        Location {
            file: file.into(),
            line: 1,
            column: 1,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// What is wrong with a rules directory.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LoadErrorKind {
    #[error("cannot read: {0}")]
    Io(String),
    #[error("required file is missing")]
    MissingFile,
    #[error("TOML syntax error: {0}")]
    Syntax(String),
    #[error("{0}")]
    Schema(String),
    #[error("invalid regex {pattern:?}: {message}")]
    InvalidRegex { pattern: String, message: String },
    #[error("unknown category {0:?} (declare it in policy.toml)")]
    UnknownCategory(String),
    #[error("unknown label {0:?} (declare it in policy.toml `labels`)")]
    UnknownLabel(String),
    #[error("duplicate rule id {id:?} (first defined at {first})")]
    DuplicateRuleId { id: String, first: String },
    #[error("duplicate category {0:?}")]
    DuplicateCategory(String),
    #[error("empty pattern")]
    EmptyPattern,
    #[error("unknown list \"@{0}\" (define it in lists.toml)")]
    UnknownList(String),
    #[error("rule {0:?} has no positive pattern (needs `any`, `all` or `near`)")]
    NoPatterns(String),
    #[error("precedence omits category {0:?}")]
    PrecedenceOmits(String),
    #[error("precedence lists category {0:?} more than once")]
    PrecedenceDuplicate(String),
    #[error("category {0:?} has no rules file and is not the matrix category")]
    CategoryWithoutRules(String),
    #[error("invalid release {0:?} for this distribution's release pattern")]
    InvalidRelease(String),
    #[error("invalid value: {0}")]
    Invalid(String),
}

/// One problem found while loading a rules directory, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {kind}")]
pub struct LoadError {
    pub location: Location,
    pub kind: LoadErrorKind,
}

/// Every problem found while loading a rules directory. A rule set is never half-loaded: any
/// error means no rule set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadErrors(pub Vec<LoadError>);

impl LoadErrors {
    pub fn iter(&self) -> impl Iterator<Item = &LoadError> {
        self.0.iter()
    }
}

impl fmt::Display for LoadErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadErrors {}

impl From<LoadError> for LoadErrors {
    fn from(e: LoadError) -> Self {
        LoadErrors(vec![e])
    }
}
