//! The functions an expression may call: those the corpus calls, those Genesys documents,
//! and the unverified ones.

use std::collections::HashSet;

use super::unverified::{EXPRESSION_FUNCTIONS, THIRD_PARTY_FUNCTIONS};

/// Functions called in the `exp` strings of the corpus (all 59 files; a test derives the list
/// again from `tests/fixtures/archy-corpus`). Genesys compares function names without regard
/// to case: real files write `tophonenumber` and `toString`.
pub const CORPUS_FUNCTIONS: &[&str] = &[
    "AddDays",
    "AddHours",
    "AddMinutes",
    "Append",
    "AreEqual",
    "AudioPlaybackOptions",
    "Contains",
    "Count",
    "DateTimeDiff",
    "FindFirst",
    "FindQueueById",
    "FindSkill",
    "FindString",
    "FindUserById",
    "GetAt",
    "GetCurrentDateTimeUtc",
    "GetJsonObjectProperty",
    "If",
    "IsNotSetOrEmpty",
    "IsSet",
    "JsonParse",
    "Left",
    "Lower",
    "MakeDuration",
    "MakeList",
    "MakeListAgentScorePair",
    "Replace",
    "Right",
    "Substring",
    "ToAudio",
    "ToAudioBlank",
    "ToAudioDuration",
    "ToAudioTTS",
    "ToDateTime",
    "ToDisplayString",
    "ToInt",
    "ToPhoneNumber",
    "ToScheduleGroup",
    "ToString",
    "Trim",
];

/// Functions Genesys's own documentation names, with where.
pub const DOCUMENTED_FUNCTIONS: &[(&str, &str)] = &[
    (
        "ToAudioNumber",
        "Genesys help, \"Architect expression help\" (help.mypurecloud.com/articles/function-operator-help/)",
    ),
    (
        "ToAudioBool",
        "Genesys help, \"Architect expression help\" (help.mypurecloud.com/articles/function-operator-help/)",
    ),
    (
        "MakeAgentScorePair",
        "[scripting] ArchValueAgentScorePair docs (purecloud-flow-scripting-api-sdk-javascript)",
    ),
];

/// The lower-cased names of the functions the corpus calls.
pub fn corpus_functions() -> HashSet<String> {
    CORPUS_FUNCTIONS
        .iter()
        .map(|f| f.to_ascii_lowercase())
        .collect()
}

/// Is `f` a function the evidence shows, given the lower-cased functions the corpus calls?
pub(super) fn known_function(corpus: &HashSet<String>, f: &str) -> bool {
    corpus.contains(&f.to_ascii_lowercase())
        || DOCUMENTED_FUNCTIONS
            .iter()
            .chain(EXPRESSION_FUNCTIONS)
            .map(|(k, _)| *k)
            .chain(THIRD_PARTY_FUNCTIONS.iter().copied())
            .any(|k| k.eq_ignore_ascii_case(f))
}

/// The names called as functions in an expression (`Name(`), string literals skipped;
/// the operators `and`, `or`, `not` before a parenthesis are not calls.
pub fn called_functions(exp: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = exp.char_indices().peekable();
    let mut ident = String::new();
    while let Some((_, c)) = chars.next() {
        if c == '"' {
            ident.clear();
            while let Some((_, d)) = chars.next() {
                match d {
                    '\\' => {
                        chars.next();
                    }
                    '"' => break,
                    _ => {}
                }
            }
            continue;
        }
        if c.is_alphanumeric() || c == '_' || c == '.' {
            ident.push(c);
            continue;
        }
        if c.is_whitespace() && !ident.is_empty() {
            // `Name (` is a call too; look past the blanks.
            while chars.peek().is_some_and(|(_, d)| d.is_whitespace()) {
                chars.next();
            }
            if chars.peek().is_some_and(|(_, d)| *d == '(') {
                continue;
            }
            ident.clear();
            continue;
        }
        if c == '(' && !ident.is_empty() {
            let lower = ident.to_ascii_lowercase();
            if !matches!(lower.as_str(), "and" | "or" | "not")
                && !ident.starts_with(|d: char| d.is_ascii_digit())
            {
                out.push(std::mem::take(&mut ident));
            }
        }
        ident.clear();
    }
    out
}
