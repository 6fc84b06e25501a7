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

const HELP_EXPRESSIONS: &str = "Genesys help, \"Architect expression help\" (help.mypurecloud.com/articles/function-operator-help/)";
const HELP_TIPS: &str = "Genesys help, \"Expressions tips and best practices\" \
    (help.mypurecloud.com/articles/expressions-tips-best-practices/)";
const HELP_CONVERT: &str = "Genesys help, \"Convert a string value to a typed value\" \
    (help.mypurecloud.com/articles/convert-string-value-typed-value/)";
const SDK_CHANGELOG: &str = "[scripting] changelog (docs/changelog.html)";
const SDK_DOCS: &str = "[scripting] examples in docs/*.html and docs/types.d.ts";

/// Functions Genesys's own documentation names, with where.
pub const DOCUMENTED_FUNCTIONS: &[(&str, &str)] = &[
    ("ToAudioNumber", HELP_EXPRESSIONS),
    ("ToAudioBool", HELP_EXPRESSIONS),
    ("Append", HELP_TIPS),
    ("MakeDuration", HELP_TIPS),
    ("ToInt", HELP_CONVERT),
    ("ToQueue", HELP_CONVERT),
    ("ToCommunicationSsml", SDK_CHANGELOG),
    ("MakeAgentScorePair", SDK_DOCS),
    ("MakeListAgentScorePair", SDK_DOCS),
    ("MakeList", SDK_DOCS),
    ("ToAudioTTS", SDK_DOCS),
];

/// How many arguments a function takes, where a source states its signature and the corpus'
/// calls agree (every corpus file is published, so a test checks it): (function, least, most
/// (`usize::MAX`: any number), source). A function not listed here is not checked: refusing a
/// real file for an overload no source shows would be as wrong as publishing a bad one.
pub const ARITIES: &[(&str, usize, usize, &str)] = &[
    ("Append", 1, usize::MAX, HELP_TIPS),
    (
        "If",
        3,
        3,
        "[third-party] If(condition, trueValue, falseValue)",
    ),
    ("IsSet", 1, 1, "[third-party] IsSet(value)"),
    (
        "IsNotSetOrEmpty",
        1,
        1,
        "[third-party] IsNotSetOrEmpty(value)",
    ),
    ("GetAt", 2, 2, "[third-party] GetAt(collection, index)"),
    ("Count", 1, 1, "[third-party] Count(collection)"),
    (
        "Substring",
        3,
        3,
        "[third-party] Substring(string, start, length)",
    ),
    (
        "Replace",
        3,
        3,
        "[third-party] Replace(string, find, replaceWith)",
    ),
    ("JsonParse", 1, 1, "[third-party] JsonParse(string)"),
    (
        "GetCurrentDateTimeUtc",
        0,
        0,
        "[third-party] GetCurrentDateTimeUtc()",
    ),
];

/// Architect's conversion functions are named `To` and the data type they make ("the To
/// functions convert one type to another", `ToInt`, `ToQueue`: HELP_CONVERT; `ToCommunicationSsml`:
/// SDK_CHANGELOG): `To<T>` for every data type `T` of the SDK reference (`ArchValueScheduleGroup`
/// → `ToScheduleGroup`, `ArchValueAudio` → `ToAudio`). Which argument types each accepts is
/// not known; a call is not judged by its arguments.
pub fn conversion_function(f: &str) -> bool {
    let lower = f.to_ascii_lowercase();
    lower
        .strip_prefix("to")
        .is_some_and(|t| super::generalise::sdk().datatypes.contains(t))
}

/// Architect's find functions do what the SDK's find actions of the same name do (corpus:
/// `FindQueueById`, `FindSkill`, `FindUserById` beside [scripting] `ArchActionFindQueueById`,
/// `ArchActionFindSkill`, `ArchActionFindUserById`): `Find<X>` for every SDK action `find<X>`.
pub fn find_function(f: &str) -> bool {
    f.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("find"))
        && super::generalise::sdk()
            .actions
            .keys()
            .any(|a| a.eq_ignore_ascii_case(f))
}

/// The number of arguments `f` takes, if a source states it: (least, most).
pub fn arity(f: &str) -> Option<(usize, usize)> {
    ARITIES
        .iter()
        .find(|(k, ..)| k.eq_ignore_ascii_case(f))
        .map(|(_, lo, hi, _)| (*lo, *hi))
}

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
        || conversion_function(f)
        || find_function(f)
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
    calls(exp).into_iter().map(|(f, _)| f).collect()
}

/// The calls of an expression with their number of arguments, in the order their names
/// appear (see [`called_functions`]).
pub fn calls(exp: &str) -> Vec<(String, usize)> {
    // One entry per open parenthesis: the index of its call in `out` (None for grouping),
    // its top-level commas, and whether anything stands inside it.
    let mut open: Vec<(Option<usize>, usize, bool)> = Vec::new();
    let mut out: Vec<(String, usize)> = Vec::new();
    let mut chars = exp.char_indices().peekable();
    let mut ident = String::new();
    while let Some((_, c)) = chars.next() {
        if c == '"' {
            ident.clear();
            mark(&mut open);
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
            mark(&mut open);
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
        match c {
            '(' => {
                mark(&mut open);
                let lower = ident.to_ascii_lowercase();
                let call = !ident.is_empty()
                    && !matches!(lower.as_str(), "and" | "or" | "not")
                    && !ident.starts_with(|d: char| d.is_ascii_digit());
                let slot = call.then(|| {
                    out.push((std::mem::take(&mut ident), 0));
                    out.len() - 1
                });
                open.push((slot, 0, false));
            }
            ',' => {
                if let Some(top) = open.last_mut() {
                    top.1 += 1;
                }
            }
            ')' => {
                if let Some((Some(i), commas, any)) = open.pop() {
                    out[i].1 = if any || commas > 0 { commas + 1 } else { 0 };
                }
            }
            c if !c.is_whitespace() => mark(&mut open),
            _ => {}
        }
        ident.clear();
    }
    out
}

/// Something stands inside the innermost open parenthesis.
fn mark(open: &mut [(Option<usize>, usize, bool)]) {
    if let Some(top) = open.last_mut() {
        top.2 = true;
    }
}
