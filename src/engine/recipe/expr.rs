//! User expression text -> polars `Expr`, via polars' SQL support. Errors
//! carry a position in the text so the UI and CLI can draw a caret under it.

use std::fmt;

use polars::prelude::*;
use polars::sql::sql_expr;

/// An expression error with the offending text and a 0-based char column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    pub text: String,
    pub position: Option<usize>,
    pub message: String,
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.message)?;
        writeln!(f, "  {}", self.text)?;
        if let Some(p) = self.position {
            write!(f, "  {}^", " ".repeat(p))
        } else {
            Ok(())
        }
    }
}

impl std::error::Error for ExprError {}

/// Parse a SQL expression (`Measure = 'TAB' AND DOSAGE_UNIT > 1000`).
pub fn parse_expr(text: &str) -> Result<Expr, ExprError> {
    if text.trim().is_empty() {
        return Err(ExprError {
            text: text.into(),
            position: Some(0),
            message: "the expression is empty".into(),
        });
    }
    sql_expr(text).map(without_strptime_cache).map_err(|e| {
        let msg = clean_message(&e.to_string());
        ExprError {
            position: syntax_position(&msg, text).or_else(|| token_position(&msg, text)),
            text: text.into(),
            message: msg,
        }
    })
}

/// polars caches `strptime` results per distinct string in an LRU sized to
/// the square root of the chunk's length: for a partition of a few hundred
/// thousand rows that is a few hundred slots, fewer than a column of dates
/// over years has distinct values, so the cache mostly evicts. Parsing
/// every value is a third cheaper (ARCOS dates: 46 ms against 75 ms per
/// 670k rows); the values are the same.
fn without_strptime_cache(expr: Expr) -> Expr {
    expr.map_expr(|e| match e {
        Expr::Function {
            input,
            function: FunctionExpr::StringExpr(StringFunction::Strptime(dtype, mut options)),
        } => {
            options.cache = false;
            Expr::Function {
                input,
                function: FunctionExpr::StringExpr(StringFunction::Strptime(dtype, options)),
            }
        }
        other => other,
    })
}

/// Check an expression against a schema: unknown columns and type errors,
/// located in the text where possible.
pub fn check_against(text: &str, expr: &Expr, schema: &Schema) -> Result<DataType, ExprError> {
    let lf = DataFrame::empty_with_schema(schema).lazy();
    match lf.select([expr.clone()]).collect_schema() {
        Ok(s) => Ok(s
            .iter()
            .next()
            .map(|(_, d)| d.clone())
            .unwrap_or(DataType::Null)),
        Err(e) => {
            let raw = e.to_string();
            let msg = clean_message(&raw);
            let position = missing_column(&raw).and_then(|c| find_word(text, &c));
            let message = match missing_column(&raw) {
                Some(c) => {
                    let names: Vec<&str> = schema.iter_names().map(|n| n.as_str()).collect();
                    format!(
                        "unknown column `{c}`{}",
                        suggest(&c, &names)
                            .map(|s| format!("; did you mean `{s}`?"))
                            .unwrap_or_default()
                    )
                }
                None => msg,
            };
            Err(ExprError {
                text: text.into(),
                position,
                message,
            })
        }
    }
}

/// The first line of a polars error, without its error-kind prefix.
pub fn clean_message(raw: &str) -> String {
    let first = raw.lines().next().unwrap_or(raw).trim();
    for prefix in [
        "SQLSyntax: ",
        "SQLInterface: ",
        "ColumnNotFound: ",
        "InvalidOperation: ",
    ] {
        if let Some(rest) = first.strip_prefix(prefix) {
            return rest.to_string();
        }
    }
    first.to_string()
}

/// polars names a missing column as `unable to find column "X"` or `"X" not found`.
pub fn missing_column(raw: &str) -> Option<String> {
    let first = raw.lines().next().unwrap_or(raw);
    if let Some(i) = first.find("unable to find column \"") {
        let rest = &first[i + "unable to find column \"".len()..];
        return rest.split('"').next().map(str::to_string);
    }
    if first.contains("not found") {
        let q: Vec<&str> = first.split('"').collect();
        if q.len() >= 3 {
            return Some(q[1].to_string());
        }
    }
    None
}

/// sqlparser reports `... at Line: 1, Column: 15`.
fn syntax_position(msg: &str, text: &str) -> Option<usize> {
    let i = msg.find("Column: ")?;
    let digits: String = msg[i + 8..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    let col: usize = digits.parse().ok()?;
    Some(col.saturating_sub(1).min(text.chars().count()))
}

/// `found unexpected token 'X'` -> where X is.
fn token_position(msg: &str, text: &str) -> Option<usize> {
    let i = msg.find('\'')?;
    let rest = &msg[i + 1..];
    let tok = &rest[..rest.find('\'')?];
    if tok.is_empty() {
        return None;
    }
    text.rfind(tok).map(|b| text[..b].chars().count())
}

/// Char position of `word` as a whole identifier in `text`.
pub fn find_word(text: &str, word: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = text[from..].find(word) {
        let b = from + i;
        let before = text[..b].chars().last();
        let after = text[b + word.len()..].chars().next();
        let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        if !ident(before) && !ident(after) {
            return Some(text[..b].chars().count());
        }
        from = b + word.len();
    }
    None
}

/// The closest name by edit distance, when it is close enough to help.
pub fn suggest<'a>(word: &str, names: &[&'a str]) -> Option<&'a str> {
    let lw = word.to_lowercase();
    let close = names
        .iter()
        .map(|n| (levenshtein(&lw, &n.to_lowercase()), *n))
        .filter(|(d, n)| *d <= 2.max(n.len() / 4))
        .min()
        .map(|(_, n)| n);
    // An abbreviation (`amt` for `amount`): its letters in order.
    close.or_else(|| {
        names
            .iter()
            .filter(|n| lw.len() >= 2 && is_subsequence(&lw, &n.to_lowercase()))
            .min_by_key(|n| n.len())
            .copied()
    })
}

fn is_subsequence(short: &str, long: &str) -> bool {
    let mut it = long.chars();
    short.chars().all(|c| it.any(|d| d == c))
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strptime_is_parsed_without_its_cache() {
        let e = parse_expr("strptime(d, '%m%d%Y')").unwrap();
        let mut found = false;
        for node in &e {
            if let Expr::Function {
                function: FunctionExpr::StringExpr(StringFunction::Strptime(_, o)),
                ..
            } = node
            {
                assert!(!o.cache);
                found = true;
            }
        }
        assert!(found, "no strptime in {e:?}");
    }

    #[test]
    fn parses_sql_expressions() {
        assert!(parse_expr("Measure = 'TAB' AND DOSAGE_UNIT > 1000").is_ok());
        assert!(parse_expr("CALC_BASE_WT_IN_GM * MME_Conversion_Factor").is_ok());
    }

    #[test]
    fn syntax_errors_have_positions() {
        let e = parse_expr("a > ").unwrap_err();
        assert!(e.position.is_some(), "{e:?}");
        let e = parse_expr("a = 1 )").unwrap_err();
        assert_eq!(e.position, Some(6), "{e:?}");
    }

    #[test]
    fn unknown_columns_are_located_and_suggested() {
        let schema = Schema::from_iter([
            Field::new("Measure".into(), DataType::String),
            Field::new("DOSAGE_UNIT".into(), DataType::Float64),
        ]);
        let text = "Measure = 'TAB' AND DOSAGE_UNT > 5";
        let expr = parse_expr(text).unwrap();
        let e = check_against(text, &expr, &schema).unwrap_err();
        assert_eq!(e.position, Some(20));
        assert!(
            e.message.contains("did you mean `DOSAGE_UNIT`"),
            "{}",
            e.message
        );
    }
}
