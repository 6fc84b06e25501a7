//! Archy's functions, as the corpus calls them. Names are matched without regard to case
//! [corpus: `right(Call.ani, 12)` in orbit-parked-call-retrieval.yaml beside `ToString(…)`
//! elsewhere]. A NOT_SET argument makes the result NOT_SET, except for the functions that
//! test for it (`IsSet`, `IsNotSetOrEmpty`), `Append` (NOT_SET appends as nothing, as the
//! simulator's text interpolation does) and `If` (only the chosen branch is evaluated).
//!
//! Time: `GetCurrentDateTimeUtc()` is the simulated call's fixed `now` ([`super::super::CallInfo`]),
//! so that two runs of one call see the same time; `AddSeconds/Minutes/Hours/Days(dateTime,
//! n)` [corpus: `AddHours(GetCurrentDateTimeUtc(), -3)`, `AddDays(GetCurrentDateTimeUtc(),
//! -7)`]; `DateTimeDiff(a, b)` is the duration `a - b` [corpus: CacheExampleFlow.yaml
//! compares `DateTimeDiff(GetCurrentDateTimeUtc(), ToDateTime(updated))` with a cache
//! lifetime]; `ToDateTime` reads ISO 8601.

use super::{Env, Ex, Val, eval, text_of};

/// Milliseconds of a date-time as text: ISO 8601 in UTC with milliseconds
/// (`2024-01-01T12:00:00.000Z`). Assumed: the format of Archy's `ToString(DateTime)` is not
/// in the evidence; every run of the interpreter uses this one.
pub(super) fn date_time_text(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_else(|| ms.to_string())
}

/// A duration as ISO 8601 text (`PT300S`). Assumed, as [`date_time_text`].
pub(super) fn duration_text(ms: i64) -> String {
    if ms % 1000 == 0 {
        format!("PT{}S", ms / 1000)
    } else {
        format!("PT{:.3}S", ms as f64 / 1000.0)
    }
}

/// An ISO 8601 date-time (with an offset, or UTC when it has none).
pub(super) fn parse_date_time(s: &str) -> Result<i64, String> {
    let t = s.trim();
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(t) {
        return Ok(d.timestamp_millis());
    }
    chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f")
        .map(|d| d.and_utc().timestamp_millis())
        .map_err(|_| format!("ToDateTime: {s:?} is not a date-time"))
}

/// `GetAt(collection, index)` and `collection[index]`: the item at a 0-based index
/// [corpus: `GetAt(Task.QueueCounts, FindFirst(Task.StatusList, "IDLE"))` guarded by
/// `FindFirst(…) >= 0`]; an index outside the collection is an error.
pub(super) fn get_at(c: Val, i: Val) -> Result<Option<Val>, String> {
    match (c, i) {
        (Val::List(items), Val::I(i)) => usize::try_from(i)
            .ok()
            .and_then(|i| items.get(i).cloned())
            .ok_or_else(|| format!("index {i} is outside a collection of {}", items.len())),
        (c, i) => Err(format!("cannot index {c:?} with {i:?}")),
    }
}

fn int(v: &Val, f: &str) -> Result<i64, String> {
    match v {
        Val::I(i) => Ok(*i),
        other => Err(format!("{f} needs an integer, got {other:?}")),
    }
}

fn text<'a>(v: &'a Val, f: &str) -> Result<&'a str, String> {
    match v {
        Val::S(s) => Ok(s),
        other => Err(format!("{f} needs a string, got {other:?}")),
    }
}

/// Calls function `f`.
pub(super) fn call(f: &str, args: &[Ex], env: &Env) -> Result<Option<Val>, String> {
    let name = f.to_ascii_lowercase();
    // The functions that see NOT_SET or do not evaluate every argument.
    match (name.as_str(), args) {
        ("isset", [a]) => return Ok(Some(Val::B(eval(a, env)?.is_some()))),
        ("isnotsetorempty", [a]) => {
            let v = eval(a, env)?;
            return Ok(Some(Val::B(match v {
                None => true,
                Some(Val::S(s)) => s.is_empty(),
                Some(Val::List(l)) => l.is_empty(),
                Some(_) => false,
            })));
        }
        ("append", _) => {
            let mut s = String::new();
            for a in args {
                if let Some(v) = eval(a, env)? {
                    s.push_str(&text_of(&v));
                }
            }
            return Ok(Some(Val::S(s)));
        }
        // Barge-in changes nothing a transcript shows: the audio is the first argument
        // [corpus: menu audio of DR-Emergency-IVR.yaml].
        ("audioplaybackoptions", [a, _]) => return eval(a, env),
        // Assumed lazy: the corpus guards `GetAt(…, FindFirst(…))` with `If(FindFirst(…) >= 0,
        // …, 0)` (CacheExampleFlow.yaml), which only protects the call if so.
        ("if", [c, yes, no]) => {
            return match eval(c, env)? {
                Some(Val::B(true)) => eval(yes, env),
                Some(Val::B(false)) => eval(no, env),
                None => Err("If on a NOT_SET condition".into()),
                Some(other) => Err(format!("If needs a boolean, got {other:?}")),
            };
        }
        ("getcurrentdatetimeutc", []) => return Ok(Some(Val::Dt(env.call.now_ms))),
        _ => {}
    }
    let mut vals = Vec::with_capacity(args.len());
    for a in args {
        match eval(a, env)? {
            Some(v) => vals.push(v),
            None => return Ok(None),
        }
    }
    strict(&name, f, &vals)
}

/// The functions of set arguments: `name` is `f` in lower case.
fn strict(name: &str, f: &str, vals: &[Val]) -> Result<Option<Val>, String> {
    Ok(Some(match (name, vals) {
        // Silence says nothing [corpus: call-park-agent-inbound-flow.yaml's menu].
        ("toaudioblank", [Val::I(_)]) => Val::S(String::new()),
        ("toaudiotts" | "toaudio" | "tostring", [v]) => Val::S(text_of(v).into_owned()),
        // A phone number is compared and played as its text (assumed: the interpreter has
        // no phone number type) [corpus: `ToPhoneNumber(Call.Ani)` in CI_CD_Test_Flow].
        ("tophonenumber", [v]) => Val::S(text_of(v).into_owned()),
        ("toint", [v]) => match v {
            Val::I(i) => Val::I(*i),
            Val::S(s) => Val::I(
                s.trim()
                    .parse()
                    .map_err(|_| format!("ToInt: {s:?} is not an integer"))?,
            ),
            Val::B(b) => Val::I((*b).into()),
            other => return Err(format!("ToInt cannot take {other:?}")),
        },
        ("tobool", [v]) => match v {
            Val::B(b) => Val::B(*b),
            Val::S(s) if s.trim().eq_ignore_ascii_case("true") => Val::B(true),
            Val::S(s) if s.trim().eq_ignore_ascii_case("false") => Val::B(false),
            other => return Err(format!("ToBool: {other:?} is not a boolean")),
        },
        ("lower", [v]) => Val::S(text(v, f)?.to_lowercase()),
        ("upper", [v]) => Val::S(text(v, f)?.to_uppercase()),
        ("length", [v]) => Val::I(text(v, f)?.chars().count() as i64),
        ("count", [Val::List(l)]) => Val::I(l.len() as i64),
        ("replace", [s, find, with]) => Val::S(text(s, f)?.replace(text(find, f)?, text(with, f)?)),
        // `Left`/`Right(s, n)`: the first / last n characters (all of s when shorter).
        ("left" | "right", [s, n]) => {
            let chars: Vec<char> = text(s, f)?.chars().collect();
            let n = usize::try_from(int(n, f)?).map_err(|_| format!("{f}: negative count"))?;
            let n = n.min(chars.len());
            let part = if name == "left" {
                &chars[..n]
            } else {
                &chars[chars.len() - n..]
            };
            Val::S(part.iter().collect())
        }
        ("todatetime", [Val::S(s)]) => Val::Dt(parse_date_time(s)?),
        ("todatetime", [Val::Dt(t)]) => Val::Dt(*t),
        ("addseconds" | "addminutes" | "addhours" | "adddays", [Val::Dt(t), n]) => {
            let unit: i64 = match name {
                "addseconds" => 1_000,
                "addminutes" => 60_000,
                "addhours" => 3_600_000,
                _ => 86_400_000,
            };
            Val::Dt(
                int(n, f)?
                    .checked_mul(unit)
                    .and_then(|d| t.checked_add(d))
                    .ok_or("date-time overflow")?,
            )
        }
        ("datetimediff", [Val::Dt(a), Val::Dt(b)]) => {
            Val::Dur(a.checked_sub(*b).ok_or("duration overflow")?)
        }
        // `FindFirst(collection, value)`: the index of the first equal item, else -1.
        ("findfirst", [Val::List(items), v]) => Val::I(
            items
                .iter()
                .position(|i| i.as_ref() == Some(v))
                .map_or(-1, |p| p as i64),
        ),
        ("getat", [c, i]) => return get_at(c.clone(), i.clone()),
        (_, vals) => return Err(format!("{f} cannot take {vals:?}")),
    }))
}
