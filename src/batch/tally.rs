//! Batch runs that classify every row with one or more rule sets and hand the verdicts, with
//! the row's id and text, to a [`Tally`] on the worker threads. Each chunk of rows gets its own
//! tally; chunk tallies are merged in input order on one thread. This is what `triage diff`
//! (two rule sets) and `triage coverage` (one) are built on: the same reader, chunking,
//! workers and ordering as `triage classify`, with no output rendering.

use super::{
    classify_each_guarded, decode, drive, note_row, with_ticket, BatchConfig, BatchError, Consumer,
    InputCtx, InputSource, Job, Progress, RowCounts, Rows, Summary,
};
use crate::ruleset::RuleSet;
use crate::verdict::{Ticket, Verdict};

/// One classified row, as a [`Tally`] sees it.
#[derive(Debug)]
pub struct TallyRow<'a> {
    /// 1-based data row number in its input (the header is not counted).
    pub row: u64,
    /// Name of the input the row comes from.
    pub input: &'a str,
    /// Value of the id column, when there is one.
    pub id: Option<&'a str>,
    pub ticket: &'a Ticket<'a>,
    /// One verdict per rule set, in the order the rule sets were given.
    pub verdicts: &'a [Verdict],
    /// What was wrong with the row (a quote never closed, ragged, text cut, engine error), if
    /// anything.
    pub error: Option<&'a str>,
}

/// Counts or collects what it needs from classified rows. One tally per chunk of rows lives on
/// a worker thread; it is reset before each chunk and merged by the caller in input order.
pub trait Tally: Send {
    /// Forgets the previous chunk (keep buffers to avoid allocating).
    fn reset(&mut self);
    /// Takes one row.
    fn add(&mut self, row: &TallyRow<'_>);
}

/// Classifies every row of `inputs` with each of `rule_sets` (one read of the input), feeds
/// per-chunk tallies made by `new_tally`, and gives each filled tally to `merge`, in input
/// order. The summary holds rows, bytes, errors, encoding, timing and per-input columns; its
/// label and category counts are left empty (they belong to the tally).
pub fn run_tally<T: Tally>(
    rule_sets: &[&RuleSet],
    inputs: Vec<InputSource>,
    cfg: &BatchConfig,
    progress: &dyn Progress,
    note: &mut dyn FnMut(String),
    new_tally: &(dyn Fn() -> T + Sync),
    merge: &mut (dyn FnMut(&mut T) + Send),
) -> Result<Summary, BatchError> {
    let job = TallyJob {
        rule_sets,
        new_tally,
    };
    let mut consumer = Merger { merge };
    drive(&job, inputs, cfg, progress, note, &mut consumer)
}

struct TallyJob<'a, T> {
    rule_sets: &'a [&'a RuleSet],
    new_tally: &'a (dyn Fn() -> T + Sync),
}

/// Per-worker buffers of a tally run.
#[derive(Default)]
struct TallyLocal {
    verdicts: Vec<Verdict>,
    joined: String,
    error: String,
}

impl<T: Tally> Job for TallyJob<'_, T> {
    type Part = T;
    type Local = TallyLocal;

    fn new_part(&self) -> T {
        (self.new_tally)()
    }

    fn process(
        &self,
        input: &InputCtx<'_>,
        rows: Rows<'_>,
        local: &mut TallyLocal,
        part: &mut T,
        counts: &mut RowCounts,
    ) {
        part.reset();
        let TallyLocal {
            verdicts,
            joined,
            error,
        } = local;
        verdicts.resize_with(self.rule_sets.len(), Verdict::default);
        for (row, record, quoting) in rows.iter() {
            error.clear();
            note_row(input, record, row, quoting, error);
            let id = input
                .plan
                .id
                .map(|c| decode(record.get(c).unwrap_or_default()).0);
            let decoded = with_ticket(input, record, joined, error, |ticket, error, decoded| {
                classify_each_guarded(self.rule_sets, ticket, verdicts, error);
                part.add(&TallyRow {
                    row,
                    input: input.name,
                    id: id.as_deref(),
                    ticket,
                    verdicts,
                    error: (!error.is_empty()).then_some(error.as_str()),
                });
                decoded
            });
            counts.errors += u64::from(!error.is_empty());
            counts.decoded += u64::from(decoded);
        }
    }
}

/// Hands each chunk's tally to the caller's merge, in input order.
struct Merger<'m, T> {
    merge: &'m mut (dyn FnMut(&mut T) + Send),
}

impl<T: Send> Consumer<T> for Merger<'_, T> {
    fn part(&mut self, part: &mut T) -> Result<(), BatchError> {
        (self.merge)(part);
        Ok(())
    }
}
