//! The functions an expression may call: those the corpus calls and the unverified ones.

use super::unverified::EXPRESSION_FUNCTIONS;

/// Functions called in the `exp` strings of the corpus (all 53 files). Genesys compares
/// function names without regard to case: real files write `tophonenumber` and `toString`.
const CORPUS_FUNCTIONS: &[&str] = &[
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

/// Is `f` a function the evidence shows?
pub(super) fn known_function(f: &str) -> bool {
    CORPUS_FUNCTIONS
        .iter()
        .copied()
        .chain(EXPRESSION_FUNCTIONS.iter().map(|(n, _)| *n))
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
