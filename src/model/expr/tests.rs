use super::*;

fn lit(v: Value) -> Expr {
    Expr::lit(v, Type::Null, Span::default())
}

fn bin(op: BinOp, a: Expr, b: Expr) -> Expr {
    Expr {
        kind: ExprKind::Binary(op, Box::new(a), Box::new(b)),
        ty: Type::Null,
        span: Span::default(),
    }
}

#[test]
fn money_arithmetic_is_exact() {
    let m = |s: &str| {
        Value::Money(Money {
            amount: s.parse().unwrap(),
            currency: "EUR".into(),
        })
    };
    let e = bin(BinOp::Add, lit(m("0.1")), lit(m("0.2")));
    assert_eq!(e.eval(&mut |_| None).unwrap(), m("0.3"));
    let e = bin(BinOp::Mul, lit(m("39.99")), lit(Value::Int(3)));
    assert_eq!(e.eval(&mut |_| None).unwrap(), m("119.97"));
}

#[test]
fn comparisons_with_null_are_false_and_presence_is_its_own_test() {
    let null = || lit(Value::Null);
    let s = |t: &str| lit(Value::String(t.into()));
    let eval = |e: Expr| e.eval(&mut |_| None).unwrap();
    assert_eq!(eval(bin(BinOp::Ne, null(), s(""))), Value::Bool(false));
    assert_eq!(eval(bin(BinOp::Eq, null(), null())), Value::Bool(false));
    assert_eq!(
        eval(bin(BinOp::Lt, null(), lit(Value::Int(1)))),
        Value::Bool(false)
    );
    let not = |e: Expr| Expr {
        kind: ExprKind::Unary(UnOp::Not, Box::new(e)),
        ty: Type::Bool,
        span: Span::default(),
    };
    assert_eq!(eval(not(bin(BinOp::Eq, null(), s("")))), Value::Bool(true));
    let present = |e: Expr, p: bool| Expr {
        kind: ExprKind::Present(Box::new(e), p),
        ty: Type::Bool,
        span: Span::default(),
    };
    assert_eq!(eval(present(null(), false)), Value::Bool(true));
    assert_eq!(eval(present(s(""), true)), Value::Bool(true));
    assert_eq!(eval(bin(BinOp::Add, null(), s("x"))), Value::Null);
    assert_eq!(
        eval(bin(BinOp::Coalesce, null(), s("none"))),
        s("none").as_lit().cloned().unwrap()
    );
}

#[test]
fn division_by_zero_is_an_error_not_a_panic() {
    let e = bin(BinOp::Div, lit(Value::Int(1)), lit(Value::Int(0)));
    assert_eq!(e.eval(&mut |_| None), Err(EvalError::DivisionByZero));
    let e = bin(BinOp::Mul, lit(Value::Int(i64::MAX)), lit(Value::Int(2)));
    assert_eq!(e.eval(&mut |_| None), Err(EvalError::Overflow));
}
