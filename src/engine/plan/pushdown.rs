//! Bounds a job's leading filters put on source columns (`DOSAGE_UNIT >
//! 1000 AND Measure = 'TAB'`), for readers that can skip whole pieces of a
//! file by their statistics (Parquet row groups).
//!
//! Only what is certain is taken: filters before any step that changes a
//! column's values or names, split on a top-level AND, each conjunct a
//! plain `column op literal`. Anything else (OR, NOT, functions, casts,
//! parentheses) adds no bound, so a piece is skipped only when a bound
//! proves no row of it can pass.

use crate::engine::input::parquet_skip::{Bound, Literal, Op};
use crate::engine::plan::lower::Plan;
use crate::engine::recipe::Step;

/// The bounds the map steps' leading filters put on source columns.
pub fn source_bounds(plan: &Plan) -> Vec<Bound> {
    let mut bounds = Vec::new();
    for (_, step) in &plan.map_steps {
        match step {
            Step::Filter { expr } => bounds.extend(conjunct_bounds(expr)),
            // Neither changes a kept column's values or name.
            Step::Select { .. } | Step::Drop { .. } => {}
            _ => break,
        }
    }
    bounds
}

/// The bounds of a filter's text, or none when it is not a plain
/// conjunction.
pub fn conjunct_bounds(expr: &str) -> Vec<Bound> {
    let Some(tokens) = tokenize(expr) else {
        return vec![];
    };
    let is_word = |t: &Token, w: &str| matches!(t, Token::Word(x) if x.eq_ignore_ascii_case(w));
    if tokens
        .iter()
        .any(|t| is_word(t, "or") || is_word(t, "not") || matches!(t, Token::Other))
    {
        return vec![];
    }
    tokens
        .split(|t| is_word(t, "and"))
        .filter_map(bound_of)
        .collect()
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// A bare word (a column, or a keyword).
    Word(String),
    /// A "quoted" column name.
    Quoted(String),
    Op(Op),
    Literal(Literal),
    /// Anything else (parentheses, arithmetic, commas): no bounds.
    Other,
}

fn tokenize(text: &str) -> Option<Vec<Token>> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' || c == '"' {
            // SQL doubles a quote inside quotes.
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return None,
                    Some(&q) if q == c && chars.get(i + 1) == Some(&c) => {
                        s.push(c);
                        i += 2;
                    }
                    Some(&q) if q == c => {
                        i += 1;
                        break;
                    }
                    Some(&x) => {
                        s.push(x);
                        i += 1;
                    }
                }
            }
            out.push(if c == '\'' {
                Token::Literal(Literal::Text(s))
            } else {
                Token::Quoted(s)
            });
        } else if c.is_ascii_digit()
            || (c == '-' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            let start = i;
            i += 1;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || chars[i] == '.' || chars[i] == '_')
            {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            match text.parse::<f64>() {
                Ok(v) if v.is_finite() => out.push(Token::Literal(Literal::Number(v))),
                _ => out.push(Token::Other),
            }
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Token::Word(chars[start..i].iter().collect()));
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let (op, len) = match two.as_str() {
                "<=" => (Some(Op::LtEq), 2),
                ">=" => (Some(Op::GtEq), 2),
                "!=" | "<>" => (Some(Op::NotEq), 2),
                "==" => (Some(Op::Eq), 2),
                _ => match c {
                    '<' => (Some(Op::Lt), 1),
                    '>' => (Some(Op::Gt), 1),
                    '=' => (Some(Op::Eq), 1),
                    _ => (None, 1),
                },
            };
            out.push(op.map_or(Token::Other, Token::Op));
            i += len;
        }
    }
    Some(out)
}

fn bound_of(conjunct: &[Token]) -> Option<Bound> {
    let column = |t: &Token| match t {
        Token::Word(w) if !is_keyword(w) => Some(w.clone()),
        Token::Quoted(q) => Some(q.clone()),
        _ => None,
    };
    match conjunct {
        [a, Token::Op(op), Token::Literal(v)] => Some(Bound {
            column: column(a)?,
            op: *op,
            value: v.clone(),
        }),
        [Token::Literal(v), Token::Op(op), b] => Some(Bound {
            column: column(b)?,
            op: op.flipped(),
            value: v.clone(),
        }),
        _ => None,
    }
}

/// Words that are not column names in a comparison.
fn is_keyword(w: &str) -> bool {
    ["null", "true", "false", "is", "in", "like", "between"]
        .iter()
        .any(|k| w.eq_ignore_ascii_case(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(column: &str, op: Op, value: Literal) -> Bound {
        Bound {
            column: column.into(),
            op,
            value,
        }
    }

    #[test]
    fn plain_conjunctions_give_bounds() {
        assert_eq!(
            conjunct_bounds("DOSAGE_UNIT > 1000 and Measure = 'TAB'"),
            [
                b("DOSAGE_UNIT", Op::Gt, Literal::Number(1000.0)),
                b("Measure", Op::Eq, Literal::Text("TAB".into()))
            ]
        );
        assert_eq!(
            conjunct_bounds("5 <= \"my col\" AND x != -2.5 AND name = 'O''Hara'"),
            [
                b("my col", Op::GtEq, Literal::Number(5.0)),
                b("x", Op::NotEq, Literal::Number(-2.5)),
                b("name", Op::Eq, Literal::Text("O'Hara".into()))
            ]
        );
        // A conjunct that is not plain adds nothing; the rest still bind.
        assert_eq!(
            conjunct_bounds("x IS NOT NULL"),
            [],
            "NOT anywhere: no bounds at all"
        );
        assert_eq!(
            conjunct_bounds("lower(s) = 'a' AND x < 3"),
            [],
            "parentheses: no bounds"
        );
        assert_eq!(
            conjunct_bounds("x like 'a%' AND y < 3"),
            [b("y", Op::Lt, Literal::Number(3.0))]
        );
    }

    #[test]
    fn or_and_arithmetic_give_none() {
        assert_eq!(conjunct_bounds("x > 1 OR y < 2"), []);
        assert_eq!(conjunct_bounds("x + 1 > 2"), []);
        assert_eq!(conjunct_bounds("x > 1e400"), []);
        assert_eq!(conjunct_bounds("x = 'unterminated"), []);
        assert_eq!(conjunct_bounds("x > y"), []);
    }
}
