//! Findings: what validation and compilation report, each pointing into the submitted
//! document by a JSON Pointer, and the "did you mean" hint many of them carry.
//!
//! A leaf: it imports nothing from the crate, so the template vocabulary, the validator and
//! the compiler all build on it without importing one another.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How bad a finding is: errors block storing (422), warnings don't.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One validation result, pointing into the submitted document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Finding {
    /// Stable machine-readable code, e.g. `unknown_next_node`.
    pub code: String,
    pub severity: Severity,
    /// RFC 6901 JSON Pointer into the submitted document ("" is the whole document).
    pub pointer: String,
    pub message: String,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Finding {
    pub fn error(code: &str, pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Finding {
            code: code.to_owned(),
            severity: Severity::Error,
            pointer: pointer.into(),
            message: message.into(),
            hint: None,
        }
    }

    pub fn warning(code: &str, pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Finding {
            severity: Severity::Warning,
            ..Finding::error(code, pointer, message)
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The finding with its message, hint and pointer cut to a readable length, so a
    /// rejected huge value is never echoed back whole.
    pub fn cut(&self) -> Finding {
        Finding {
            code: self.code.clone(),
            severity: self.severity,
            pointer: excerpt(&self.pointer, MAX_ECHO_CHARS).into_owned(),
            message: excerpt(&self.message, MAX_ECHO_CHARS).into_owned(),
            hint: self
                .hint
                .as_deref()
                .map(|h| excerpt(h, MAX_ECHO_CHARS).into_owned()),
        }
    }
}

/// Most findings one answer lists: a document with a mistake in each of 30,000 nodes gets
/// the first ones and a count, not megabytes.
pub const MAX_FINDINGS: usize = 200;

/// `findings` as answered to a client: each [`Finding::cut`], at most [`MAX_FINDINGS`] of
/// them, and a last one saying how many were left out.
pub fn answer_findings(findings: &[Finding]) -> Vec<Finding> {
    let mut out: Vec<Finding> = findings
        .iter()
        .take(MAX_FINDINGS)
        .map(Finding::cut)
        .collect();
    if findings.len() > MAX_FINDINGS {
        let errors = findings[MAX_FINDINGS..]
            .iter()
            .filter(|f| f.is_error())
            .count();
        let left = findings.len() - MAX_FINDINGS;
        let note = format!("{left} more findings ({errors} errors) are not listed");
        out.push(if errors > 0 {
            Finding::error("more_findings", "", note)
        } else {
            Finding::warning("more_findings", "", note)
        });
    }
    out
}

/// Longest message, hint or pointer of a finding as answered to a client (characters).
pub const MAX_ECHO_CHARS: usize = 1000;

/// `s` cut to at most `max` characters, marked with `…` when cut.
pub fn excerpt(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => s.into(),
        Some((at, _)) => format!("{}…", &s[..at]).into(),
    }
}

/// Builds a JSON Pointer from reference tokens, escaping `~` and `/` (RFC 6901).
pub fn pointer<I, S>(tokens: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut out = String::new();
    for t in tokens {
        out.push('/');
        for c in t.as_ref().chars() {
            match c {
                '~' => out.push_str("~0"),
                '/' => out.push_str("~1"),
                c => out.push(c),
            }
        }
    }
    out
}

/// Levenshtein distance (only computed for findings, never on the hot path).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(!ca.eq_ignore_ascii_case(cb));
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The known name closest to `name`, if it is close enough to be a typo of it.
pub(crate) fn did_you_mean<'a>(
    name: &str,
    known: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    did_you_mean_within(name, known, &mut { HINT_WORK })
}

/// Most edit-distance cells spent on "did you mean" hints for one document: each hint costs
/// (length × length) per candidate, so a document of many long unknown names against many
/// node ids would otherwise be quadratic twice over. Past it, findings have no such hint.
pub(crate) const HINT_WORK: u64 = 20_000_000;

/// [`did_you_mean`], spending at most `budget` cells (and nothing on names of more than
/// 200 characters, which no one mistypes for a short one).
pub(crate) fn did_you_mean_within<'a>(
    name: &str,
    known: impl Iterator<Item = &'a str>,
    budget: &mut u64,
) -> Option<&'a str> {
    let len = name.chars().count();
    if len > 200 {
        return None;
    }
    let limit = (len / 3).max(2);
    let mut best: Option<(usize, &str)> = None;
    for k in known {
        // A length difference is a lower bound of the distance.
        if len.abs_diff(k.len()) > limit {
            continue;
        }
        let cost = ((len + 1) * (k.len() + 1)) as u64;
        let Some(left) = budget.checked_sub(cost) else {
            break;
        };
        *budget = left;
        let d = edit_distance(name, k);
        if d <= limit && best.is_none_or(|b| (d, k) < b) {
            best = Some((d, k));
        }
    }
    best.map(|(_, k)| k)
}
