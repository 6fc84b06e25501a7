//! The small expression language of spec section 3 (If conditions, Set expressions):
//! literals, `{var}` references, `+ -` on integers, comparisons, `and or not`, parentheses
//! and a few functions. Parse errors carry byte offsets into the source text.

use super::types::{Segment, Text, VarRef, VarType};

/// Functions of the template language (all exist in Genesys expressions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    IsSet,
    IsNotSetOrEmpty,
    ToString,
    ToInt,
    Lower,
    Upper,
    Length,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Str(String),
    Int(i64),
    Bool(bool),
    Var(VarRef),
    Not(Box<Expr>),
    /// Unary minus.
    Neg(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Call(Func, Vec<Expr>),
}

/// Longest expression accepted, in bytes. A fixed part of the language (not a setting): a
/// stored template must stay valid, and every walk over an expression (type check,
/// compiler, simulator, diagram) recurses, so the bound is what keeps their stacks safe.
pub const MAX_EXPR_LEN: usize = 4096;

/// Deepest expression tree accepted (parentheses, `not`, unary `-`, function calls and each
/// operator of a chain such as `1+1+1` add a level). Fixed for the same reason as
/// [`MAX_EXPR_LEN`]; 64 levels is far beyond any hand-written condition.
pub const MAX_EXPR_DEPTH: usize = 64;

/// A syntax error at a byte offset of the expression text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at offset {offset}")]
pub struct ParseError {
    pub offset: usize,
    pub message: String,
}

impl Func {
    /// Every function, in the order of the spec.
    pub const ALL: [Func; 7] = [
        Func::IsSet,
        Func::IsNotSetOrEmpty,
        Func::ToString,
        Func::ToInt,
        Func::Lower,
        Func::Upper,
        Func::Length,
    ];

    /// The name as written in templates (and in Genesys expressions).
    pub fn name(self) -> &'static str {
        match self {
            Func::IsSet => "IsSet",
            Func::IsNotSetOrEmpty => "IsNotSetOrEmpty",
            Func::ToString => "ToString",
            Func::ToInt => "ToInt",
            Func::Lower => "Lower",
            Func::Upper => "Upper",
            Func::Length => "Length",
        }
    }

    /// Looks a function up by its exact (case-sensitive) name.
    pub fn from_name(name: &str) -> Option<Func> {
        Func::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Number of arguments (every function of the language takes one).
    pub fn arity(self) -> usize {
        1
    }

    /// Whether a read inside this function is a test for NOT_SET rather than a use.
    pub fn tests_set(self) -> bool {
        matches!(self, Func::IsSet | Func::IsNotSetOrEmpty)
    }
}

impl BinOp {
    /// The operator as written in templates.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::And => "and",
            BinOp::Or => "or",
        }
    }

    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge
        )
    }
}

impl ParseError {
    fn new(offset: usize, message: impl Into<String>) -> Self {
        ParseError {
            offset,
            message: message.into(),
        }
    }
}

/// Whether `s` is a Genesys-style variable name: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_var_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Reads the inside of a `{...}` variable reference: `name` or `Node.digits`.
/// `inner` is the text between the braces, `offset` the byte offset of its first byte.
fn var_ref(inner: &str, offset: usize) -> Result<VarRef, ParseError> {
    if inner.is_empty() {
        return Err(ParseError::new(
            offset.saturating_sub(1),
            "empty variable reference '{}'",
        ));
    }
    match inner.split_once('.') {
        None if is_var_name(inner) => Ok(VarRef(inner.to_owned())),
        None => Err(ParseError::new(
            offset,
            format!("invalid variable name '{inner}': use letters, digits and '_'"),
        )),
        Some((node, suffix)) => {
            if !is_var_name(node) {
                return Err(ParseError::new(
                    offset,
                    format!("invalid node name '{node}' in variable reference"),
                ));
            }
            if suffix != "digits" {
                return Err(ParseError::new(
                    offset + node.len() + 1,
                    format!(
                        "unknown variable suffix '.{suffix}': only '{{{node}.digits}}' (a Gather result) is allowed"
                    ),
                ));
            }
            Ok(VarRef::digits_of(node))
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Str(String),
    Int(i64),
    Ident(String),
    Var(VarRef),
    LParen,
    RParen,
    Comma,
    Op(BinOp),
    Eof,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Str(s) => format!("string '{s}'"),
            Tok::Int(i) => format!("number {i}"),
            Tok::Ident(s) => format!("'{s}'"),
            Tok::Var(v) => format!("variable {{{}}}", v.name()),
            Tok::LParen => "'('".into(),
            Tok::RParen => "')'".into(),
            Tok::Comma => "','".into(),
            Tok::Op(op) => format!("'{}'", op.symbol()),
            Tok::Eof => "end of expression".into(),
        }
    }
}

fn lex(src: &str) -> Result<Vec<(usize, Tok)>, ParseError> {
    let b = src.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        let start = i;
        let (tok, next) = match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'\'' | b'"' => lex_string(src, start)?,
            b'0'..=b'9' => lex_number(src, start)?,
            c if is_ident_start(c) => {
                while i < b.len() && is_ident_char(b[i]) {
                    i += 1;
                }
                (Tok::Ident(src[start..i].to_owned()), i)
            }
            b'{' => {
                let close = src[i + 1..].find('}').map(|p| p + i + 1);
                let Some(close) = close else {
                    return Err(ParseError::new(start, "unclosed '{': expected '}'"));
                };
                (Tok::Var(var_ref(&src[i + 1..close], i + 1)?), close + 1)
            }
            b'(' => (Tok::LParen, i + 1),
            b')' => (Tok::RParen, i + 1),
            b',' => (Tok::Comma, i + 1),
            b'+' => (Tok::Op(BinOp::Add), i + 1),
            b'-' => (Tok::Op(BinOp::Sub), i + 1),
            b'=' | b'!' | b'<' | b'>' => lex_comparison(b, start)?,
            _ => return Err(unexpected_character(src, start)),
        };
        out.push((start, tok));
        i = next;
    }
    out.push((src.len(), Tok::Eof));
    Ok(out)
}

/// A quoted string starting at `start` (its quote), with `\'`, `\"` and `\\` escapes: the
/// token and the offset after the closing quote.
fn lex_string(src: &str, start: usize) -> Result<(Tok, usize), ParseError> {
    let b = src.as_bytes();
    let quote = b[start];
    let mut s = String::new();
    let mut i = start + 1;
    let mut run = i;
    loop {
        if i >= b.len() {
            return Err(ParseError::new(start, "unterminated string"));
        }
        match b[i] {
            q if q == quote => {
                s.push_str(&src[run..i]);
                return Ok((Tok::Str(s), i + 1));
            }
            b'\\' => {
                s.push_str(&src[run..i]);
                match b.get(i + 1) {
                    Some(&e @ (b'\'' | b'"' | b'\\')) => s.push(e as char),
                    Some(_) => {
                        let ch = src[i + 1..].chars().next().unwrap_or(' ');
                        return Err(ParseError::new(
                            i,
                            format!("unknown escape '\\{ch}': only \\' \\\" and \\\\ are allowed"),
                        ));
                    }
                    None => return Err(ParseError::new(start, "unterminated string")),
                }
                i += 2;
                run = i;
            }
            _ => i += 1,
        }
    }
}

/// A decimal integer starting at `start`: the token and the offset after it.
fn lex_number(src: &str, start: usize) -> Result<(Tok, usize), ParseError> {
    let b = src.as_bytes();
    let mut i = start;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i < b.len() && is_ident_char(b[i]) {
        return Err(ParseError::new(
            i,
            format!("unexpected character '{}' in number", b[i] as char),
        ));
    }
    let n = src[start..i].parse::<i64>().map_err(|_| {
        ParseError::new(start, format!("integer '{}' is too large", &src[start..i]))
    })?;
    Ok((Tok::Int(n), i))
}

/// A comparison operator starting at `start` (`==`, `!=`, `<`, `<=`, `>`, `>=`): the token
/// and the offset after it. A lone `=` or `!` is an error that says what to write.
fn lex_comparison(b: &[u8], start: usize) -> Result<(Tok, usize), ParseError> {
    let eq = b.get(start + 1) == Some(&b'=');
    let op = match (b[start], eq) {
        (b'=', true) => BinOp::Eq,
        (b'!', true) => BinOp::Ne,
        (b'<', true) => BinOp::Le,
        (b'>', true) => BinOp::Ge,
        (b'<', false) => BinOp::Lt,
        (b'>', false) => BinOp::Gt,
        (b'=', false) => {
            return Err(ParseError::new(
                start,
                "unexpected character '=': write '==' to compare",
            ));
        }
        _ => {
            return Err(ParseError::new(
                start,
                "unexpected character '!': write 'not' or '!='",
            ));
        }
    };
    Ok((Tok::Op(op), start + if eq { 2 } else { 1 }))
}

/// The error for a character no token starts with, with what to write instead when it is a
/// common mistake.
fn unexpected_character(src: &str, start: usize) -> ParseError {
    let ch = src[start..].chars().next().unwrap_or('?');
    let hint = match ch {
        '&' => ": write 'and'",
        '|' => ": write 'or'",
        '}' => ": unmatched '}'",
        _ => "",
    };
    ParseError::new(start, format!("unexpected character '{ch}'{hint}"))
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    /// Current recursion depth of the parser (bounded by [`MAX_EXPR_DEPTH`]).
    nest: usize,
}

fn too_deep(offset: usize) -> ParseError {
    ParseError::new(
        offset,
        format!("expression nests deeper than the limit of {MAX_EXPR_DEPTH} levels"),
    )
}

impl Parser {
    /// Enters one level of recursion, refusing past [`MAX_EXPR_DEPTH`] so hostile input
    /// cannot overflow the stack.
    fn enter(&mut self) -> Result<(), ParseError> {
        self.nest += 1;
        if self.nest > MAX_EXPR_DEPTH {
            return Err(too_deep(self.offset()));
        }
        Ok(())
    }

    fn peek(&self) -> &Tok {
        &self.toks[self.pos].1
    }

    fn offset(&self) -> usize {
        self.toks[self.pos].0
    }

    fn bump(&mut self) -> (usize, Tok) {
        let t = self.toks[self.pos].clone();
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
        t
    }

    fn keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        self.keyword_chain("or", BinOp::Or, Self::and)
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        self.keyword_chain("and", BinOp::And, Self::not)
    }

    /// `operand (kw operand)*`, grouped to the left.
    fn keyword_chain(
        &mut self,
        kw: &str,
        op: BinOp,
        operand: fn(&mut Self) -> Result<Expr, ParseError>,
    ) -> Result<Expr, ParseError> {
        let mut lhs = operand(self)?;
        while self.keyword(kw) {
            self.bump();
            let rhs = operand(self)?;
            lhs = Expr::Binary(op, Box::new(lhs), Box::new(rhs));
        }
        Ok(lhs)
    }

    fn not(&mut self) -> Result<Expr, ParseError> {
        if self.keyword("not") {
            self.bump();
            self.enter()?;
            let e = self.not()?;
            self.nest -= 1;
            return Ok(Expr::Not(Box::new(e)));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, ParseError> {
        let lhs = self.additive()?;
        let op = match self.peek() {
            Tok::Op(op) if op.is_comparison() => *op,
            _ => return Ok(lhs),
        };
        self.bump();
        let rhs = self.additive()?;
        if let Tok::Op(op2) = self.peek()
            && op2.is_comparison()
        {
            return Err(ParseError::new(
                self.offset(),
                format!(
                    "comparisons cannot be chained: '{}' after '{}'; use 'and' and parentheses",
                    op2.symbol(),
                    op.symbol()
                ),
            ));
        }
        Ok(Expr::Binary(op, Box::new(lhs), Box::new(rhs)))
    }

    fn additive(&mut self) -> Result<Expr, ParseError> {
        let mut lhs = self.unary()?;
        while let Tok::Op(op @ (BinOp::Add | BinOp::Sub)) = *self.peek() {
            self.bump();
            let rhs = self.unary()?;
            lhs = Expr::Binary(op, Box::new(lhs), Box::new(rhs));
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        if *self.peek() == Tok::Op(BinOp::Sub) {
            self.bump();
            self.enter()?;
            let e = self.unary()?;
            self.nest -= 1;
            return Ok(Expr::Neg(Box::new(e)));
        }
        self.primary()
    }

    fn expect_rparen(&mut self, open: usize) -> Result<(), ParseError> {
        match self.peek() {
            Tok::RParen => {
                self.bump();
                Ok(())
            }
            t => Err(ParseError::new(
                self.offset(),
                format!(
                    "expected ')' to close '(' at offset {open}, found {}",
                    t.describe()
                ),
            )),
        }
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        let (at, tok) = self.bump();
        match tok {
            Tok::Str(s) => Ok(Expr::Str(s)),
            Tok::Int(n) => Ok(Expr::Int(n)),
            Tok::Var(v) => Ok(Expr::Var(v)),
            Tok::LParen => {
                self.enter()?;
                let e = self.or()?;
                self.nest -= 1;
                self.expect_rparen(at)?;
                Ok(e)
            }
            Tok::Ident(name) => {
                if name.eq_ignore_ascii_case("true") {
                    return Ok(Expr::Bool(true));
                }
                if name.eq_ignore_ascii_case("false") {
                    return Ok(Expr::Bool(false));
                }
                if ["and", "or", "not"]
                    .iter()
                    .any(|k| name.eq_ignore_ascii_case(k))
                {
                    return Err(ParseError::new(
                        at,
                        format!("expected a value, found keyword '{name}'"),
                    ));
                }
                if *self.peek() != Tok::LParen {
                    return Err(ParseError::new(
                        at,
                        format!(
                            "bare identifier '{name}': write {{{name}}} for a variable or '{name}' for text"
                        ),
                    ));
                }
                let Some(func) = Func::from_name(&name) else {
                    let hint = Func::ALL
                        .iter()
                        .find(|f| f.name().eq_ignore_ascii_case(&name))
                        .map(|f| format!(" (did you mean '{}'?)", f.name()))
                        .unwrap_or_else(|| {
                            let names: Vec<_> = Func::ALL.iter().map(|f| f.name()).collect();
                            format!(" (known functions: {})", names.join(", "))
                        });
                    return Err(ParseError::new(
                        at,
                        format!("unknown function '{name}'{hint}"),
                    ));
                };
                let (open, _) = self.bump();
                if *self.peek() == Tok::RParen {
                    return Err(ParseError::new(
                        self.offset(),
                        format!("{} takes {} argument", func.name(), func.arity()),
                    ));
                }
                self.enter()?;
                let arg = self.or()?;
                self.nest -= 1;
                if *self.peek() == Tok::Comma {
                    return Err(ParseError::new(
                        self.offset(),
                        format!("{} takes {} argument, found ','", func.name(), func.arity()),
                    ));
                }
                self.expect_rparen(open)?;
                Ok(Expr::Call(func, vec![arg]))
            }
            Tok::Eof => Err(ParseError::new(
                at,
                "expected a value, found end of expression",
            )),
            t => Err(ParseError::new(
                at,
                format!("expected a value, found {}", t.describe()),
            )),
        }
    }
}

/// Parses an expression of the template language.
///
/// Refuses expressions longer than [`MAX_EXPR_LEN`] or deeper than [`MAX_EXPR_DEPTH`], so
/// every recursive walk over the result is bounded.
pub fn parse(src: &str) -> Result<Expr, ParseError> {
    if src.len() > MAX_EXPR_LEN {
        return Err(ParseError::new(
            MAX_EXPR_LEN,
            format!(
                "expression is {} bytes long, over the limit of {MAX_EXPR_LEN}",
                src.len()
            ),
        ));
    }
    let toks = lex(src)?;
    let mut p = Parser {
        toks,
        pos: 0,
        nest: 0,
    };
    let e = p.or()?;
    // Operator chains are parsed in loops, so the tree can be deeper than the parser's
    // recursion: measure it (without recursion) before anyone walks it.
    if e.depth() > MAX_EXPR_DEPTH {
        return Err(too_deep(0));
    }
    match p.peek() {
        Tok::Eof => Ok(e),
        Tok::RParen => Err(ParseError::new(p.offset(), "unmatched ')'")),
        t => Err(ParseError::new(
            p.offset(),
            format!("unexpected {} after a complete expression", t.describe()),
        )),
    }
}

/// Parses a text template (`sayText`, `promptText`, a Set `value`): literal text with
/// `{var}` and `{Node.digits}` interpolations.
///
/// Braces that do not look like a variable reference are kept as literal text, because
/// people write JSON-ish prompts (`{ "a": 1 }`): a `{` followed by a space, a quote, a digit
/// or any character that cannot start a name is literal, and so is `{name` followed by a
/// character that is neither a name character, `.` nor `}` (e.g. `{name is}`). A lone `}`
/// is literal. Errors: `{}` (empty reference), a `{name` or `{` that runs to the end of the
/// text (unclosed), and `{a.b}` whose suffix is not `digits`.
pub fn parse_text(src: &str) -> Result<Text, ParseError> {
    let b = src.as_bytes();
    let mut segs: Vec<Segment> = Vec::new();
    let mut lit = String::new();
    let mut run = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'{' {
            i += 1;
            continue;
        }
        let open = i;
        let mut j = i + 1;
        match b.get(j) {
            None => return Err(ParseError::new(open, "unclosed '{' at end of text")),
            Some(b'}') => return Err(ParseError::new(open, "empty variable reference '{}'")),
            Some(&c) if !is_ident_start(c) => {
                i += 1;
                continue;
            }
            Some(_) => {}
        }
        while j < b.len() && (is_ident_char(b[j]) || b[j] == b'.') {
            j += 1;
        }
        match b.get(j) {
            None => {
                return Err(ParseError::new(
                    open,
                    "unclosed '{': expected '}' to end the variable reference",
                ));
            }
            Some(b'}') => {
                let var = var_ref(&src[open + 1..j], open + 1)?;
                lit.push_str(&src[run..open]);
                if !lit.is_empty() {
                    segs.push(Segment::Literal(std::mem::take(&mut lit)));
                }
                segs.push(Segment::Var(var));
                i = j + 1;
                run = i;
            }
            Some(_) => i = j,
        }
    }
    lit.push_str(&src[run..]);
    if !lit.is_empty() {
        segs.push(Segment::Literal(lit));
    }
    Ok(Text(segs))
}

/// A type that is not known statically (a variable whose type the validator cannot tell).
pub type MaybeType = Option<VarType>;

fn type_name(t: VarType) -> &'static str {
    match t {
        VarType::String => "string",
        VarType::Integer => "integer",
        VarType::Boolean => "boolean",
    }
}

fn expect(what: &str, got: MaybeType, want: VarType) -> Result<(), String> {
    match got {
        Some(t) if t != want => Err(format!(
            "{what} needs {} operands, found {}",
            type_name(want),
            type_name(t)
        )),
        _ => Ok(()),
    }
}

impl Expr {
    /// Height of the tree (a literal is 1), measured with an explicit stack so that it is
    /// safe on any tree.
    pub fn depth(&self) -> usize {
        let mut max = 0;
        let mut stack = vec![(self, 1usize)];
        while let Some((e, d)) = stack.pop() {
            max = max.max(d);
            match e {
                Expr::Str(_) | Expr::Int(_) | Expr::Bool(_) | Expr::Var(_) => {}
                Expr::Not(a) | Expr::Neg(a) => stack.push((a, d + 1)),
                Expr::Binary(_, a, b) => {
                    stack.push((a, d + 1));
                    stack.push((b, d + 1));
                }
                Expr::Call(_, args) => stack.extend(args.iter().map(|a| (a, d + 1))),
            }
        }
        max
    }

    /// Every variable the expression reads, in source order (with repeats).
    pub fn vars(&self) -> Vec<&VarRef> {
        let mut out = Vec::new();
        self.collect_vars(false, &mut out);
        out
    }

    /// The variables read outside `IsSet(...)` / `IsNotSetOrEmpty(...)`: the reads that
    /// matter for "read before write".
    pub fn unguarded_vars(&self) -> Vec<&VarRef> {
        let mut out = Vec::new();
        self.collect_vars(true, &mut out);
        out
    }

    fn collect_vars<'a>(&'a self, skip_guarded: bool, out: &mut Vec<&'a VarRef>) {
        match self {
            Expr::Str(_) | Expr::Int(_) | Expr::Bool(_) => {}
            Expr::Var(v) => out.push(v),
            Expr::Not(e) | Expr::Neg(e) => e.collect_vars(skip_guarded, out),
            Expr::Binary(_, a, b) => {
                a.collect_vars(skip_guarded, out);
                b.collect_vars(skip_guarded, out);
            }
            Expr::Call(f, args) => {
                if skip_guarded && f.tests_set() {
                    return;
                }
                for a in args {
                    a.collect_vars(skip_guarded, out);
                }
            }
        }
    }

    /// Static type of the expression; a variable whose type `lookup` does not know is
    /// treated as string (see [`Expr::infer_any`] to keep "unknown" apart).
    pub fn infer(&self, lookup: impl Fn(&VarRef) -> Option<VarType>) -> Result<VarType, String> {
        Ok(self.infer_any(&lookup)?.unwrap_or(VarType::String))
    }

    /// Static type check: `Ok(None)` when the type depends on a variable of unknown type,
    /// which is never an error.
    pub fn infer_any(
        &self,
        lookup: &dyn Fn(&VarRef) -> Option<VarType>,
    ) -> Result<MaybeType, String> {
        use VarType::*;
        Ok(match self {
            Expr::Str(_) => Some(String),
            Expr::Int(_) => Some(Integer),
            Expr::Bool(_) => Some(Boolean),
            Expr::Var(v) => lookup(v),
            Expr::Not(e) => {
                expect("'not'", e.infer_any(lookup)?, Boolean)?;
                Some(Boolean)
            }
            Expr::Neg(e) => {
                expect("unary '-'", e.infer_any(lookup)?, Integer)?;
                Some(Integer)
            }
            Expr::Binary(op, a, b) => {
                let (ta, tb) = (a.infer_any(lookup)?, b.infer_any(lookup)?);
                let what = format!("'{}'", op.symbol());
                match op {
                    BinOp::Add | BinOp::Sub => {
                        expect(&what, ta, Integer)?;
                        expect(&what, tb, Integer)?;
                        Some(Integer)
                    }
                    BinOp::And | BinOp::Or => {
                        expect(&what, ta, Boolean)?;
                        expect(&what, tb, Boolean)?;
                        Some(Boolean)
                    }
                    BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                        if let (Some(x), Some(y)) = (ta, tb)
                            && x != y
                        {
                            let hint = if matches!((x, y), (String, Integer) | (Integer, String)) {
                                ": use ToInt(...) or ToString(...)"
                            } else {
                                ""
                            };
                            return Err(format!(
                                "cannot compare {} with {} using {what}{hint}",
                                type_name(x),
                                type_name(y)
                            ));
                        }
                        if !matches!(op, BinOp::Eq | BinOp::Ne) && ta.or(tb) == Some(Boolean) {
                            return Err(format!("booleans cannot be ordered with {what}"));
                        }
                        Some(Boolean)
                    }
                }
            }
            Expr::Call(f, args) => {
                let mut arg_types = Vec::with_capacity(args.len());
                for a in args {
                    arg_types.push(a.infer_any(lookup)?);
                }
                if args.len() != f.arity() {
                    return Err(format!("{} takes {} argument", f.name(), f.arity()));
                }
                let what = f.name().to_owned();
                match f {
                    Func::IsSet | Func::IsNotSetOrEmpty => Some(Boolean),
                    Func::ToString => Some(String),
                    Func::ToInt => Some(Integer),
                    Func::Lower | Func::Upper => {
                        expect(&what, arg_types[0], String)?;
                        Some(String)
                    }
                    Func::Length => {
                        expect(&what, arg_types[0], String)?;
                        Some(Integer)
                    }
                }
            }
        })
    }
}

#[cfg(test)]
mod tests;
