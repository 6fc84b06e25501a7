//! Archy expressions → the template's expression language, for the subset both share:
//! declared `Flow.`/`Task.`/`Common.` variables of a basic type (string, integer, boolean),
//! string and integer literals, `true`/`false`, comparisons, `and`/`or`/`not` (any case),
//! parentheses and the functions the template language has (`IsSet`, `ToInt`, ...). Anything
//! else (other functions, `+`, `Call.Ani`, queue variables, decimals) gives `None`, and the
//! action is kept as written.

/// The template functions, as Archy writes them.
const FUNCS: &[&str] = &[
    "IsSet",
    "IsNotSetOrEmpty",
    "ToString",
    "ToInt",
    "Lower",
    "Upper",
    "Length",
];

/// What the conversion needs of the flow: a written variable's template name and kind.
pub(super) trait Vars {
    /// `Task.X` → (`X` as the template names it, `stringVariable`).
    fn var(&self, written: &str) -> Option<(String, String)>;
}

/// The template expression for the Archy expression `src`, and the kinds of the variables
/// it reads, when every part of it has the same meaning in both.
pub(super) fn convert(src: &str, vars: &dyn Vars) -> Option<String> {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len() + 8);
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                out.push(' ');
                i += 1;
            }
            b'"' => {
                let end = src[i + 1..].find('"')? + i + 1;
                let s = &src[i + 1..end];
                if s.contains(['\\', '\'', '{', '}']) {
                    return None;
                }
                out.push('"');
                out.push_str(s);
                out.push('"');
                i = end + 1;
            }
            b'0'..=b'9' => {
                let start = i;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                if i < b.len() && (b[i] == b'.' || b[i].is_ascii_alphabetic() || b[i] == b'_') {
                    return None;
                }
                out.push_str(&src[start..i]);
            }
            c if c.is_ascii_alphabetic() => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'.')
                {
                    i += 1;
                }
                let word = &src[start..i];
                let lower = word.to_ascii_lowercase();
                match lower.as_str() {
                    "and" | "or" | "not" | "true" | "false" => out.push_str(&lower),
                    _ if FUNCS.contains(&word) => {
                        // A function name is followed by its arguments.
                        if src[i..].trim_start().starts_with('(') {
                            out.push_str(word);
                        } else {
                            return None;
                        }
                    }
                    _ => {
                        let (name, kind) = vars.var(word)?;
                        if !matches!(
                            kind.as_str(),
                            "stringVariable" | "integerVariable" | "booleanVariable"
                        ) {
                            return None;
                        }
                        out.push('{');
                        out.push_str(&name);
                        out.push('}');
                    }
                }
            }
            b'(' | b')' | b',' => {
                out.push(c as char);
                i += 1;
            }
            b'=' | b'!' | b'<' | b'>' => {
                let two = b.get(i + 1) == Some(&b'=');
                match (c, two) {
                    (b'=' | b'!', true) | (b'<' | b'>', _) => {
                        let n = if two { 2 } else { 1 };
                        out.push_str(&src[i..i + n]);
                        i += n;
                    }
                    _ => return None,
                }
            }
            _ => return None,
        }
    }
    crate::template::expr::parse(&out).ok()?;
    Some(out.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct V;
    impl Vars for V {
        fn var(&self, w: &str) -> Option<(String, String)> {
            match w {
                "Task.n" => Some(("n".into(), "integerVariable".into())),
                "Flow.s" => Some(("s".into(), "stringVariable".into())),
                "Task.q" => Some(("q".into(), "queueVariable".into())),
                _ => None,
            }
        }
    }

    #[test]
    fn shared_expressions_convert_and_others_do_not() {
        assert_eq!(convert("Task.n > 0", &V).as_deref(), Some("{n} > 0"));
        assert_eq!(
            convert(r#"Flow.s == "a" OR IsSet(Task.n)"#, &V).as_deref(),
            Some(r#"{s} == "a" or IsSet({n})"#)
        );
        for no in [
            "Task.q == 1",
            "Call.Ani",
            "Flow.s + \"x\"",
            "DateTimeDiff(Task.n)",
            "1.5 > Task.n",
            "Flow.s == \"{x}\"",
        ] {
            assert_eq!(convert(no, &V), None, "{no}");
        }
    }
}
