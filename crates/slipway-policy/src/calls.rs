//! A load-time check that every function a policy calls exists.
//!
//! regorus resolves function calls only when evaluation reaches them, so a misspelt function in
//! a rule that rarely fires would pass loading and fail some later promotion. OPA's compiler
//! rejects such a module up front; this walk does the same: each call must name a regorus
//! built-in, or a function defined in some module (directly, through an import alias, or
//! relative to the caller's package).
//!
//! It reads regorus's syntax tree through `regorus::unstable`, the only way the crate exposes
//! it; the version is pinned by the lock file and this module's tests cover each form.

use crate::PolicyError;
use regorus::unstable::{BUILTINS, Expr, Literal, Module, Query, Rule, RuleHead};
use std::collections::{BTreeSet, HashMap};

/// Fails with the place of the first call to a function that no module defines and that is
/// not a built-in.
pub(crate) fn check_calls(engine: &regorus::Engine) -> Result<(), PolicyError> {
    let mut engine = engine.clone();
    let modules = engine.get_modules().clone();
    let mut defined = BTreeSet::new();
    for module in &modules {
        let package = package_path(module);
        for rule in &module.policy {
            match rule.as_ref() {
                Rule::Spec {
                    head: RuleHead::Func { refr, .. },
                    ..
                } => {
                    defined.insert(format!("{package}.{}", compact(refr.span().text())));
                }
                Rule::Default { refr, args, .. } if !args.is_empty() => {
                    defined.insert(format!("{package}.{}", compact(refr.span().text())));
                }
                _ => {}
            }
        }
    }
    for module in &modules {
        let package = package_path(module);
        let aliases: HashMap<String, String> = module
            .imports
            .iter()
            .filter_map(|import| {
                let target = compact(import.refr.span().text());
                if !target.starts_with("data.") {
                    return None;
                }
                let alias = match &import.r#as {
                    Some(alias) => alias.text().to_owned(),
                    None => target.rsplit('.').next()?.to_owned(),
                };
                Some((alias, target))
            })
            .collect();
        let mut calls = Vec::new();
        for rule in &module.policy {
            collect_rule_calls(rule, &mut calls);
        }
        for (name, line, column) in calls {
            if !resolves(&name, &package, &aliases, &defined) {
                return Err(PolicyError::Rego {
                    file: module.package.span.source.get_path().clone(),
                    line,
                    column,
                    message: format!("could not find function {name}"),
                    help: "call a built-in function regorus provides (docs/policy.md lists the gaps) or define the function; check its spelling and imports".into(),
                });
            }
        }
    }
    Ok(())
}

pub(crate) fn package_path(module: &Module) -> String {
    format!("data.{}", compact(module.package.refr.span().text()))
}

/// Source text without whitespace: `lib . f` and `lib.f` name the same function.
pub(crate) fn compact(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

fn resolves(
    name: &str,
    package: &str,
    aliases: &HashMap<String, String>,
    defined: &BTreeSet<String>,
) -> bool {
    let (head, rest) = name.split_once('.').unwrap_or((name, ""));
    let through_alias = aliases.get(head).map(|target| {
        if rest.is_empty() {
            target.clone()
        } else {
            format!("{target}.{rest}")
        }
    });
    if through_alias
        .as_ref()
        .is_some_and(|path| defined.contains(path))
    {
        return true;
    }
    if name == "print" || BUILTINS.contains_key(name) {
        return true;
    }
    if name.starts_with("data.") {
        return defined.contains(name);
    }
    defined.contains(&format!("{package}.{name}"))
}

/// The dotted name a call names (`lib.f`, `object.get`) and where it starts; `None` for calls
/// through computed references, which only evaluation can resolve.
fn call_path(fcn: &Expr) -> Option<(String, u32, u32)> {
    match fcn {
        Expr::Var { span, .. } => Some((span.text().to_owned(), span.line, span.col)),
        Expr::RefDot { refr, field, .. } => {
            let (head, line, column) = call_path(refr)?;
            Some((format!("{head}.{}", field.0.text()), line, column))
        }
        _ => None,
    }
}

fn collect_rule_calls(rule: &Rule, calls: &mut Vec<(String, u32, u32)>) {
    let mut exprs: Vec<&Expr> = Vec::new();
    let mut queries: Vec<&Query> = Vec::new();
    match rule {
        Rule::Spec { head, bodies, .. } => {
            match head {
                RuleHead::Compr { refr, assign, .. } => {
                    exprs.push(refr);
                    if let Some(assign) = assign {
                        exprs.push(&assign.value);
                    }
                }
                RuleHead::Set { refr, key, .. } => {
                    exprs.push(refr);
                    if let Some(key) = key {
                        exprs.push(key);
                    }
                }
                RuleHead::Func {
                    refr, args, assign, ..
                } => {
                    exprs.push(refr);
                    exprs.extend(args.iter().map(|a| a.as_ref()));
                    if let Some(assign) = assign {
                        exprs.push(&assign.value);
                    }
                }
            }
            for body in bodies {
                if let Some(assign) = &body.assign {
                    exprs.push(&assign.value);
                }
                queries.push(&body.query);
            }
        }
        Rule::Default { value, .. } => exprs.push(value),
    }
    while !exprs.is_empty() || !queries.is_empty() {
        while let Some(query) = queries.pop() {
            for statement in &query.stmts {
                for modifier in &statement.with_mods {
                    exprs.push(&modifier.r#as);
                }
                match &statement.literal {
                    Literal::SomeVars { .. } => {}
                    Literal::SomeIn {
                        key,
                        value,
                        collection,
                        ..
                    } => {
                        exprs.extend(key.iter().map(|k| k.as_ref()));
                        exprs.push(value);
                        exprs.push(collection);
                    }
                    Literal::Expr { expr, .. } | Literal::NotExpr { expr, .. } => exprs.push(expr),
                    Literal::Every { domain, query, .. } => {
                        exprs.push(domain);
                        queries.push(query);
                    }
                }
            }
        }
        while let Some(expr) = exprs.pop() {
            match expr {
                Expr::String { .. }
                | Expr::RawString { .. }
                | Expr::Number { .. }
                | Expr::Bool { .. }
                | Expr::Null { .. }
                | Expr::Var { .. } => {}
                Expr::Array { items, .. } | Expr::Set { items, .. } => {
                    exprs.extend(items.iter().map(|i| i.as_ref()));
                }
                Expr::Object { fields, .. } => {
                    for (_, key, value) in fields {
                        exprs.push(key);
                        exprs.push(value);
                    }
                }
                Expr::ArrayCompr { term, query, .. } | Expr::SetCompr { term, query, .. } => {
                    exprs.push(term);
                    queries.push(query);
                }
                Expr::ObjectCompr {
                    key, value, query, ..
                } => {
                    exprs.push(key);
                    exprs.push(value);
                    queries.push(query);
                }
                Expr::Call { fcn, params, .. } => {
                    if let Some((name, line, column)) = call_path(fcn) {
                        calls.push((name, line, column));
                    }
                    exprs.extend(params.iter().map(|p| p.as_ref()));
                }
                Expr::UnaryExpr { expr, .. } => exprs.push(expr),
                Expr::RefDot { refr, .. } => exprs.push(refr),
                Expr::RefBrack { refr, index, .. } => {
                    exprs.push(refr);
                    exprs.push(index);
                }
                Expr::BinExpr { lhs, rhs, .. }
                | Expr::BoolExpr { lhs, rhs, .. }
                | Expr::ArithExpr { lhs, rhs, .. }
                | Expr::AssignExpr { lhs, rhs, .. } => {
                    exprs.push(lhs);
                    exprs.push(rhs);
                }
                Expr::Membership {
                    key,
                    value,
                    collection,
                    ..
                } => {
                    exprs.extend(key.iter().map(|k| k.as_ref()));
                    exprs.push(value);
                    exprs.push(collection);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::PolicyError;
    use crate::set::{Module, compile};
    use std::collections::BTreeMap;

    fn check(text: &str) -> Result<(), (u32, u32, String)> {
        let modules = vec![
            Module {
                path: "lib.rego".into(),
                text: "package lib\nimport rego.v1\nf(x) := x + 1\ndefault g(_) := 0\n".into(),
                builtin: false,
            },
            Module {
                path: "p.rego".into(),
                text: text.into(),
                builtin: false,
            },
        ];
        match compile(&modules, &serde_json::json!({}), &BTreeMap::new()) {
            Ok(_) => Ok(()),
            Err(PolicyError::Rego {
                file,
                line,
                column,
                message,
                ..
            }) => {
                assert_eq!(file, "p.rego");
                Err((line, column, message))
            }
            Err(other) => panic!("{other}"),
        }
    }

    #[test]
    fn known_functions_resolve_in_every_form() {
        let text = "package p\nimport rego.v1\nimport data.lib\nimport data.lib as other\n\nh(x) := x\n\n\
            deny contains m if {\n  m := sprintf(\"%d\", [lib.f(1) + other.g(2) + data.lib.f(3) + h(4)])\n  \
            every x in [object.get({}, \"a\", 1)] { x == count([1]) }\n  print(m)\n}\n";
        assert_eq!(check(text), Ok(()));
    }

    #[test]
    fn unknown_functions_are_reported_where_they_are_called() {
        let cases = [
            (
                "package p\nimport rego.v1\n\ndeny contains m if {\n  input.x\n  m := no_such(1)\n}\n",
                6,
                8,
                "no_such",
            ),
            (
                "package p\nimport rego.v1\nimport data.lib\n\ndeny contains m if {\n  m := lib.missing(1)\n}\n",
                6,
                8,
                "lib.missing",
            ),
            (
                "package p\nimport rego.v1\n\nx := [y | some y in [1]; z := data.lib.nope(y)]\n",
                4,
                31,
                "data.lib.nope",
            ),
            (
                "package p\nimport rego.v1\n\nok if {\n  every v in [1] {\n    http.send({}) == v\n  }\n}\n",
                6,
                5,
                "http.send",
            ),
        ];
        for (text, line, column, name) in cases {
            let (l, c, message) = check(text).unwrap_err();
            assert_eq!((l, c), (line, column), "{text}");
            assert_eq!(message, format!("could not find function {name}"));
        }
    }
}
