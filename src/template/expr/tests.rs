use super::*;

fn v(name: &str) -> Expr {
    Expr::Var(VarRef(name.into()))
}

fn bin(op: BinOp, a: Expr, b: Expr) -> Expr {
    Expr::Binary(op, Box::new(a), Box::new(b))
}

fn err(src: &str) -> ParseError {
    parse(src).expect_err(src)
}

#[test]
fn parses_the_seed_condition() {
    assert_eq!(
        parse("{shared_module_result} == '1'").unwrap(),
        bin(BinOp::Eq, v("shared_module_result"), Expr::Str("1".into()))
    );
}

#[test]
fn literals_and_escapes() {
    assert_eq!(parse(r#"'it\'s'"#).unwrap(), Expr::Str("it's".into()));
    assert_eq!(parse(r#""a\"b\\c""#).unwrap(), Expr::Str("a\"b\\c".into()));
    assert_eq!(parse("'é'").unwrap(), Expr::Str("é".into()));
    assert_eq!(parse("42").unwrap(), Expr::Int(42));
    assert_eq!(parse("TRUE").unwrap(), Expr::Bool(true));
    assert_eq!(parse("false").unwrap(), Expr::Bool(false));
    assert_eq!(parse("{Menu.digits}").unwrap(), v("Menu_digits"));
    assert_eq!(parse("9223372036854775807").unwrap(), Expr::Int(i64::MAX));
}

#[test]
fn precedence() {
    // or < and < not < comparison < additive < unary minus
    let e = parse("not {a} == 1 + -2 and {b} or {c}").unwrap();
    let cmp = bin(
        BinOp::Eq,
        v("a"),
        bin(BinOp::Add, Expr::Int(1), Expr::Neg(Box::new(Expr::Int(2)))),
    );
    let expected = bin(
        BinOp::Or,
        bin(BinOp::And, Expr::Not(Box::new(cmp)), v("b")),
        v("c"),
    );
    assert_eq!(e, expected);
    // additive is left-associative
    assert_eq!(
        parse("1 - 2 - 3").unwrap(),
        bin(
            BinOp::Sub,
            bin(BinOp::Sub, Expr::Int(1), Expr::Int(2)),
            Expr::Int(3)
        )
    );
    assert_eq!(
        parse("({a} OR {b}) AnD {c}").unwrap(),
        bin(BinOp::And, bin(BinOp::Or, v("a"), v("b")), v("c"))
    );
}

#[test]
fn functions() {
    assert_eq!(
        parse("Length(Lower({x})) >= 3").unwrap(),
        bin(
            BinOp::Ge,
            Expr::Call(Func::Length, vec![Expr::Call(Func::Lower, vec![v("x")])]),
            Expr::Int(3)
        )
    );
    let e = err("Foo({x})");
    assert_eq!(e.offset, 0);
    assert!(e.message.contains("unknown function 'Foo'"), "{e}");
    assert!(err("isset({x})").message.contains("did you mean 'IsSet'"));
    assert!(err("IsSet({x}, {y})").message.contains("takes 1 argument"));
    assert!(err("IsSet()").message.contains("takes 1 argument"));
}

#[test]
fn errors_have_offsets() {
    let e = err("({a} == 1");
    assert_eq!(e.offset, 9);
    assert!(e.message.contains("expected ')'"), "{e}");
    let e = err("{a} == 'abc");
    assert_eq!((e.offset, e.message.as_str()), (7, "unterminated string"));
    let e = err("{a} && {b}");
    assert_eq!(e.offset, 4);
    assert!(e.message.contains("unexpected character '&'"));
    let e = err("{a} == x");
    assert_eq!(e.offset, 7);
    assert!(
        e.message
            .contains("bare identifier 'x': write {x} for a variable or 'x' for text")
    );
    let e = err("{a} == 1 2");
    assert_eq!(e.offset, 9);
    assert!(e.message.contains("after a complete expression"));
    let e = err("1 < 2 < 3");
    assert_eq!(e.offset, 6);
    assert!(e.message.contains("chained"));
    assert_eq!(err("99999999999999999999").offset, 0);
    assert!(err("99999999999999999999").message.contains("too large"));
    assert!(err("{a.b}").message.contains("unknown variable suffix"));
    assert_eq!(err("{a.b}").offset, 3);
    assert!(err("{}").message.contains("empty"));
    assert!(err("{a").message.contains("unclosed"));
    assert!(err("").message.contains("end of expression"));
    assert!(err("{a} ==").message.contains("end of expression"));
    assert_eq!(err("1)").message, "unmatched ')'");
    assert!(err("{a} = 1").message.contains("'=='"));
    assert!(err("and").message.contains("keyword"));
    assert!(err("'a\\n'").message.contains("escape"));
}

#[test]
fn depth_and_length_are_bounded() {
    // Within the limits, every shape parses.
    let ok = format!(
        "{}1{}",
        "(".repeat(MAX_EXPR_DEPTH - 1),
        ")".repeat(MAX_EXPR_DEPTH - 1)
    );
    assert_eq!(parse(&ok).unwrap().depth(), 1);
    // Each kind of nesting is refused past the limit, without overflowing the stack.
    let n = 100_000;
    for src in [
        format!("{}1{}", "(".repeat(n), ")".repeat(n)),
        format!("{}true", "not ".repeat(n)),
        format!("{}1", "-".repeat(n)),
        format!("{}{{x}}{}", "Length(".repeat(n), ")".repeat(n)),
    ] {
        let e = err(&src[..src.len().min(MAX_EXPR_LEN)]);
        assert!(e.message.contains("limit"), "{e}");
        assert!(err(&src).message.contains("over the limit of 4096"));
    }
    let chain = format!("1{}", "+1".repeat(MAX_EXPR_DEPTH));
    assert!(err(&chain).message.contains("deeper than the limit of 64"));
    let chain = format!("1{}", "+1".repeat(MAX_EXPR_DEPTH - 2));
    assert_eq!(parse(&chain).unwrap().depth(), MAX_EXPR_DEPTH - 1);
    // Chains of parenthesised chains are measured as one tree.
    let group = format!("({})", vec!["1"; 40].join("+"));
    assert!(
        err(&vec![group.as_str(); 40].join("+"))
            .message
            .contains("deeper")
    );
}

#[test]
fn vars_and_guarded_vars() {
    let e = parse("IsSet({a}) and {b} == ToString({c})").unwrap();
    let names: Vec<_> = e.vars().iter().map(|v| v.name()).collect();
    assert_eq!(names, ["a", "b", "c"]);
    let names: Vec<_> = e.unguarded_vars().iter().map(|v| v.name()).collect();
    assert_eq!(names, ["b", "c"]);
}

#[test]
fn type_inference() {
    let lookup = |v: &VarRef| match v.name() {
        "n" => Some(VarType::Integer),
        "s" => Some(VarType::String),
        "b" => Some(VarType::Boolean),
        _ => None,
    };
    let ty = |src: &str| parse(src).unwrap().infer(lookup);
    assert_eq!(ty("{n} + 1"), Ok(VarType::Integer));
    assert_eq!(ty("{s} == 'x' and {b}"), Ok(VarType::Boolean));
    assert_eq!(ty("Length({s})"), Ok(VarType::Integer));
    assert_eq!(ty("ToInt({s}) > {n}"), Ok(VarType::Boolean));
    assert_eq!(ty("Upper({s})"), Ok(VarType::String));
    assert_eq!(ty("IsNotSetOrEmpty({s})"), Ok(VarType::Boolean));
    assert_eq!(ty("{unknown}"), Ok(VarType::String));
    assert_eq!(ty("{unknown} + 1"), Ok(VarType::Integer));
    assert_eq!(ty("not {unknown}"), Ok(VarType::Boolean));
    assert!(ty("{s} + 1").is_err());
    assert!(ty("{n} and {b}").is_err());
    assert!(ty("not {s}").is_err());
    assert!(ty("{s} == 1").unwrap_err().contains("ToInt"));
    assert!(ty("{b} < true").is_err());
    assert!(ty("Length({n})").is_err());
    assert_eq!(parse("{unknown}").unwrap().infer_any(&lookup), Ok(None));
}

#[test]
fn text_templates() {
    let t = parse_text("Hello {name}, you pressed {Menu.digits}.").unwrap();
    assert_eq!(
        t,
        Text(vec![
            Segment::Literal("Hello ".into()),
            Segment::Var(VarRef("name".into())),
            Segment::Literal(", you pressed ".into()),
            Segment::Var(VarRef("Menu_digits".into())),
            Segment::Literal(".".into()),
        ])
    );
    assert_eq!(parse_text("").unwrap(), Text(vec![]));
    assert_eq!(
        parse_text("{x}").unwrap(),
        Text(vec![Segment::Var(VarRef("x".into()))])
    );
    // JSON-ish text stays literal.
    let json = r#"{ "json": 1 } {"a":2} {name is} 5 } {1}"#;
    assert_eq!(parse_text(json).unwrap(), Text::literal(json));
    let e = parse_text("Hi {name").unwrap_err();
    assert_eq!(e.offset, 3);
    assert!(e.message.contains("unclosed"));
    let e = parse_text("Hi {}").unwrap_err();
    assert_eq!(e.offset, 3);
    assert!(parse_text("x {").unwrap_err().message.contains("unclosed"));
    let e = parse_text("ab {Node.foo}").unwrap_err();
    assert_eq!(e.offset, 9);
}
