use super::*;

#[test]
fn a_known_side_decides_or_drops_out() {
    let out = Expr {
        kind: ExprKind::Ref(Ref::TaskOutput {
            task: "t".into(),
            output: "ok".into(),
        }),
        ty: Type::Bool,
        span: Span::default(),
    };
    let attr = Expr {
        kind: ExprKind::Ref(Ref::Attr {
            name: "fast".into(),
        }),
        ty: Type::Bool,
        span: Span::default(),
    };
    let or = Expr {
        kind: ExprKind::Binary(BinOp::Or, Box::new(out.clone()), Box::new(attr.clone())),
        ty: Type::Bool,
        span: Span::default(),
    };
    let with = |v: bool| {
        or.substitute(&mut |r| match r {
            Ref::Attr { .. } => Some(Replacement::Value(Value::Bool(v))),
            _ => None,
        })
    };
    assert_eq!(with(true).as_lit(), Some(&Value::Bool(true)));
    assert_eq!(with(false), out);
}
