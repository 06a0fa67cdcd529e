//! The abstract syntax tree of one `.ordo` file. Every node carries its [`Span`].
//! Nothing here is resolved or checked: that is `crate::model`'s work.

use rust_decimal::Decimal;

use crate::span::Span;
use crate::value::Value;

#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// A string literal: `value` has escapes resolved; `raw` is the text between
/// the quotes, which interpolations are parsed from so their spans stay exact.
#[derive(Debug, Clone, PartialEq)]
pub struct StringLit {
    pub value: String,
    pub raw: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Module {
    pub decls: Vec<Decl>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Decl {
    Catalog(CatalogDecl),
    Stages(StagesDecl),
    Enum(EnumDecl),
    Customer(CustomerDecl),
    Action(ActionDecl),
    Product(ProductDecl),
    Bundle(ProductDecl),
    Order(OrderDecl),
}

#[derive(Debug, Clone, PartialEq)]
pub struct CatalogDecl {
    pub name: StringLit,
    pub version: Option<StringLit>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StagesDecl {
    pub stages: Vec<StageItem>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StageItem {
    pub name: Ident,
    /// Span of the `(default)` mark, if present.
    pub default: Option<Span>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EnumDecl {
    pub name: Ident,
    pub values: Vec<StringLit>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CustomerDecl {
    pub attrs: Vec<AttrDecl>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ActionDecl {
    /// Qualified name such as `network.activate`.
    pub name: Ident,
    pub params: Vec<Param>,
    pub outputs: Vec<Param>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: Ident,
    pub ty: TypeExpr,
    /// `note?: string`: the call may leave it out, or pass a value that may
    /// be absent.
    pub optional: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TypeExpr {
    pub kind: TypeExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TypeExprKind {
    /// `string`, `int`, …, or an enum name.
    Named(Ident),
    /// `int(LO..HI)`, inclusive.
    Range { lo: i64, hi: i64 },
    /// `string matching "REGEX"`.
    Matching(StringLit),
}

/// A product or a bundle: the grammar admits different members for each.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductDecl {
    pub name: Ident,
    pub members: Vec<Member>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Member {
    Description(StringLit),
    /// `offering "ID", "NAME", …`: the TMF622 offering and specification
    /// ids and names that order this product.
    Offering(Offering),
    Attr(AttrDecl),
    ReliesOn(Ident),
    Price(PriceLine),
    Sla(SlaLine),
    Require(RequireRule),
    Rule(RuleBlock),
    Include(Include),
}

#[derive(Debug, Clone, PartialEq)]
pub struct AttrDecl {
    pub name: Ident,
    pub optional: bool,
    pub ty: TypeExpr,
    pub default: Option<Expr>,
    /// `characteristic "NAME"`: the TMF622 characteristic that sets it.
    pub characteristic: Option<StringLit>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Offering {
    pub names: Vec<StringLit>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PriceKind {
    Once,
    Monthly,
}

impl PriceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PriceKind::Once => "once",
            PriceKind::Monthly => "monthly",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PriceLine {
    pub kind: PriceKind,
    /// Negative for a discount line.
    pub amount: Decimal,
    pub currency: Ident,
    /// `on modify`, …: the item actions a line applies to, when it names them.
    pub on: Option<ItemActions>,
    pub when: Option<Expr>,
    pub span: Span,
}

/// `on add`, `on modify, delete`: the item actions a price line or a
/// product's `require` applies to.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemActions {
    pub actions: Vec<(OrderAction, Span)>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SlaLine {
    pub name: Ident,
    pub value: Value,
    pub value_span: Span,
    pub when: Option<Expr>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RequireRule {
    pub cond: Expr,
    pub message: StringLit,
    /// On a product or bundle only: the item actions it applies to, when it
    /// names them (else `add` and `modify`).
    pub on: Option<ItemActions>,
    pub span: Span,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum OrderAction {
    Add,
    Modify,
    Delete,
}

impl OrderAction {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderAction::Add => "add",
            OrderAction::Modify => "modify",
            OrderAction::Delete => "delete",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RuleBlock {
    pub action: OrderAction,
    pub action_span: Span,
    pub tasks: Vec<TaskDecl>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Include {
    pub product: Ident,
    /// `as line1`: the child's name in the bundle (else the product's).
    pub alias: Option<Ident>,
    pub args: Vec<Arg>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderDecl {
    pub tasks: Vec<TaskDecl>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TaskDecl {
    pub name: Ident,
    pub call: Call,
    pub clauses: Vec<Clause>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub action: Ident,
    pub args: Vec<Arg>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Arg {
    pub name: Ident,
    pub value: Expr,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    pub kind: ClauseKind,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RetryKind {
    Every,
    Backoff,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ClauseKind {
    /// `after a, P.b, order.c`: each reference is one or two names.
    After(Vec<TaskRef>),
    When(Expr),
    Stage(Ident),
    Require(RequireRule),
    Retry {
        count: u32,
        kind: RetryKind,
        delay_ms: u64,
    },
    Timeout {
        ms: u64,
    },
    Undo(Call),
    NoReturn,
    /// `manual "TEAM"`.
    Manual(StringLit),
    /// `wait until EXPR`.
    WaitUntil(Expr),
    /// `wait D`.
    WaitFor {
        ms: u64,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct TaskRef {
    pub parts: Vec<Ident>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    /// `a ?? b`: `b` when `a` is null.
    Coalesce,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Or => "or",
            BinOp::And => "and",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Coalesce => "??",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum UnOp {
    Not,
    Neg,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Lit(Value),
    /// A dotted name: `speed`, `coverage.available`, `order.customer.id`.
    Path(Vec<Ident>),
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    In(Box<Expr>, Vec<Expr>),
    /// `if COND then A else B`.
    If(Box<Expr>, Box<Expr>, Box<Expr>),
}
