//! Rendering verdicts for people: colour only on a terminal and without `NO_COLOR`.

use std::io::IsTerminal;
use triage::{Evidence, RuleSet, Ticket, Verdict};

/// ANSI styling, or nothing.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    /// Colour when stdout is a terminal and `NO_COLOR` is unset or empty.
    pub fn for_stdout() -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Style {
            color: std::io::stdout().is_terminal() && !no_color,
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    pub fn label(&self, label: &str) -> String {
        let code = match label {
            "in-scope" => "1;32",
            "vendor-referral" => "1;33",
            "out-of-scope" => "1;31",
            _ => "1",
        };
        self.paint(code, label)
    }

    pub fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }

    pub fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }

    /// The matched words inside their context.
    pub fn highlight(&self, matched: &str, counted: bool) -> String {
        if self.color {
            self.paint(if counted { "1;4;36" } else { "9;2" }, matched)
        } else {
            format!(">>{matched}<<")
        }
    }
}

/// The line around `start..end` of `text`, shortened to about `width` characters of context.
pub fn context(text: &str, start: usize, end: usize, width: usize) -> (&str, &str, &str) {
    // Spans come from the engine on character boundaries; stay safe if one does not.
    if start > end || !text.is_char_boundary(start) || !text.is_char_boundary(end) {
        return ("", text.get(start..end).unwrap_or_default(), "");
    }
    let line_start = text[..start].rfind('\n').map_or(0, |p| p + 1);
    let line_end = text[end..].find('\n').map_or(text.len(), |p| end + p);
    let mut before_start = line_start;
    let before_chars = text[line_start..start].chars().count();
    if before_chars > width {
        before_start = text[line_start..start]
            .char_indices()
            .nth(before_chars - width)
            .map_or(line_start, |(i, _)| line_start + i);
    }
    let mut after_end = line_end;
    if let Some((i, _)) = text[end..line_end].char_indices().nth(width) {
        after_end = end + i;
    }
    (
        &text[before_start..start],
        &text[start..end],
        &text[end..after_end],
    )
}

/// Ticket text made safe for a terminal: control characters (escape sequences, NUL, bell…)
/// and bidirectional overrides are shown escaped (`\u{1b}`), never sent as they are.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| {
        c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.contains(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

fn evidence_line(rules: &RuleSet, ticket: &Ticket<'_>, e: &Evidence, style: Style) -> String {
    let rule = rules.rule(e.rule);
    let mut flags = Vec::new();
    if e.negated {
        flags.push("negated".to_owned());
    }
    if e.zone != triage::Zone::Body {
        flags.push(format!("in {}", e.zone.as_str()));
    }
    if !e.counted && flags.is_empty() {
        flags.push("not counted".to_owned());
    }
    let flags = if flags.is_empty() {
        String::new()
    } else {
        style.dim(&format!(" ({})", flags.join(", ")))
    };
    format!(
        "  {} {}{}\n{}",
        style.bold(&rule.id),
        style.dim(&format!("[{}]", rules.category(rule.category).name)),
        flags,
        quoted_match(ticket, e, style)
    )
}

/// `      field: "…>>words<<…"`: a match shown in its line.
fn quoted_match(ticket: &Ticket<'_>, e: &Evidence, style: Style) -> String {
    let text = ticket.field(e.field);
    let (before, matched, after) = context(text, e.start, e.end, 40);
    let (before, matched, after) = (printable(before), printable(matched), printable(after));
    format!(
        "      {}: \"{}{}{}\"",
        e.field.as_str(),
        before.trim_start(),
        style.highlight(&matched, e.counted),
        after.trim_end()
    )
}

/// The `--explain` part of `triage check`: rules that matched but an exclusion stopped.
pub fn vetoed_text(
    rules: &RuleSet,
    ticket: &Ticket<'_>,
    vetoed: &[triage::Vetoed],
    style: Style,
) -> String {
    if vetoed.is_empty() {
        return "stopped by exclusions: none\n".to_owned();
    }
    let mut out = String::from("stopped by exclusions:\n");
    for v in vetoed {
        let rule = rules.rule(v.rule);
        out.push_str(&format!(
            "  {} {}\n",
            style.bold(&rule.id),
            style.dim(&format!("[{}]", rules.category(rule.category).name)),
        ));
        for e in &v.by {
            out.push_str(&quoted_match(ticket, e, style));
            out.push('\n');
        }
    }
    out
}

/// The human rendering of `triage check`.
pub fn verdict_text(
    rules: &RuleSet,
    ticket: &Ticket<'_>,
    verdict: &Verdict,
    style: Style,
) -> String {
    let mut out = String::new();
    let label = verdict.label_name(rules);
    let category = verdict.category_name(rules).unwrap_or("none");
    out.push_str(&format!("{}  ({category})", style.label(label)));
    if verdict.review {
        out.push_str(&format!("  {}", style.bold("review")));
    }
    out.push('\n');
    out.push_str(&format!("reason:     {}\n", verdict.reason(rules)));
    if let Some(v) = verdict.vendor(rules) {
        out.push_str(&format!("vendor:     {v}\n"));
    }
    if !verdict.categories.is_empty() {
        let cats: Vec<_> = verdict
            .categories
            .iter()
            .map(|&c| rules.category(c).name.as_str())
            .collect();
        out.push_str(&format!("categories: {}\n", cats.join(", ")));
    }
    if !verdict.entities.is_empty() {
        let ents: Vec<String> = verdict
            .entities
            .iter()
            .map(|e| {
                let d = &rules.distros[e.distro as usize];
                let release = e.release.map(|r| format!(" {r}")).unwrap_or_default();
                let place = if e.inside {
                    "inside matrix"
                } else {
                    "outside matrix"
                };
                let note = if e.negated { ", negated" } else { "" };
                format!("{}{release} ({place}{note})", d.name)
            })
            .collect();
        out.push_str(&format!("systems:    {}\n", ents.join("; ")));
    }
    if !verdict.evidence.is_empty() {
        out.push_str("evidence:\n");
        for e in &verdict.evidence {
            out.push_str(&evidence_line(rules, ticket, e, style));
            out.push('\n');
        }
    }
    out
}
