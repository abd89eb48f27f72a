//! Which columns of an export hold the ticket text and its id: named by the user, or detected
//! from the header of common helpdesk exports.

/// Header names (lower case) of subject-like columns, most specific first.
const SUBJECT_NAMES: &[&str] = &[
    "subject",
    "short_description",
    "short description",
    "summary",
    "title",
];
/// Header names of description-like columns, most specific first.
const DESCRIPTION_NAMES: &[&str] = &[
    "description",
    "body",
    "text",
    "comments",
    "comment",
    "details",
    "ticket description",
    "issue description",
    "problem description",
    "message",
    "content",
];
/// Header names of id columns.
const ID_NAMES: &[&str] = &[
    "id",
    "ticket id",
    "ticket_id",
    "ticket number",
    "number",
    "issue key",
    "key",
    "case number",
    "case id",
    "incident id",
    "sys_id",
];

/// The columns a batch run reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnPlan {
    /// Text columns: the first is the subject when there are several.
    pub text: Vec<usize>,
    /// Column holding the ticket id, if any (else the row number is the id).
    pub id: Option<usize>,
    /// Whether the columns were detected rather than named.
    pub detected: bool,
}

/// Why columns could not be chosen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ColumnError {
    #[error("no column named {name:?}; the header has: {}", list(.header))]
    Missing { name: String, header: Vec<String> },
    #[error("no text column recognised (subject/description/summary/title/body/text/comments…); name one with --text-column; the header has: {}", list(.header))]
    NoText { header: Vec<String> },
}

fn list(header: &[String]) -> String {
    header
        .iter()
        .map(|h| format!("{h:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn norm(name: &str) -> String {
    name.trim().trim_start_matches('\u{feff}').to_lowercase()
}

fn find(header: &[String], name: &str) -> Option<usize> {
    let want = norm(name);
    header.iter().position(|h| norm(h) == want)
}

impl ColumnPlan {
    /// Chooses columns from `header`: the named ones, else detected ones.
    pub fn choose(
        header: &[String],
        text: &[String],
        id: Option<&str>,
    ) -> Result<ColumnPlan, ColumnError> {
        let missing = |name: &str| ColumnError::Missing {
            name: name.to_owned(),
            header: header.to_vec(),
        };
        let id = match id {
            Some(name) => Some(find(header, name).ok_or_else(|| missing(name))?),
            None => ID_NAMES.iter().find_map(|n| find(header, n)),
        };
        if !text.is_empty() {
            let text = text
                .iter()
                .map(|n| find(header, n).ok_or_else(|| missing(n)))
                .collect::<Result<_, _>>()?;
            return Ok(ColumnPlan {
                text,
                id,
                detected: false,
            });
        }
        let subject = SUBJECT_NAMES.iter().find_map(|n| find(header, n));
        let description = DESCRIPTION_NAMES.iter().find_map(|n| find(header, n));
        let text: Vec<usize> = subject.into_iter().chain(description).collect();
        if text.is_empty() {
            return Err(ColumnError::NoText {
                header: header.to_vec(),
            });
        }
        Ok(ColumnPlan {
            text,
            id,
            detected: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn detects_common_exports() {
        let zendesk = h(&["Id", "Subject", "Description", "Status"]);
        assert_eq!(
            ColumnPlan::choose(&zendesk, &[], None).unwrap(),
            ColumnPlan {
                text: vec![1, 2],
                id: Some(0),
                detected: true
            }
        );
        let servicenow = h(&["number", "short_description", "description", "state"]);
        assert_eq!(
            ColumnPlan::choose(&servicenow, &[], None).unwrap().text,
            [1, 2]
        );
        let jira = h(&["Issue key", "Summary", "Description"]);
        let plan = ColumnPlan::choose(&jira, &[], None).unwrap();
        assert_eq!((plan.text, plan.id), (vec![1, 2], Some(0)));
        let generic = h(&["\u{feff}TITLE", "Body"]);
        assert_eq!(
            ColumnPlan::choose(&generic, &[], None).unwrap().text,
            [0, 1]
        );
    }

    #[test]
    fn named_columns_win_and_missing_ones_list_the_header() {
        let header = h(&["ref", "Notes", "Subject"]);
        let plan = ColumnPlan::choose(&header, &["notes".into()], Some("REF")).unwrap();
        assert_eq!(
            plan,
            ColumnPlan {
                text: vec![1],
                id: Some(0),
                detected: false
            }
        );
        let err = ColumnPlan::choose(&header, &["body".into()], None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no column named \"body\"; the header has: \"ref\", \"Notes\", \"Subject\""
        );
        let err = ColumnPlan::choose(&h(&["a", "b"]), &[], None).unwrap_err();
        assert!(matches!(err, ColumnError::NoText { .. }));
    }
}
