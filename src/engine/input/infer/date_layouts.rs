//! Dates written in other common layouts (`05/13/2014`, `13.05.2014`,
//! `20140513`) are left as their reader read them — which day `05/06` is
//! cannot be known for sure — and offered as a cast: the schema view has
//! an action for it, and `quarry schema` prints the step that does it.

use polars::prelude::*;

use super::Inferred;

/// A date layout a column's values were all written in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateLayout {
    /// How a reader recognises it: `MM/DD/YYYY`.
    pub label: &'static str,
    /// The strptime format that reads it: `%m/%d/%Y`.
    pub format: &'static str,
    /// The values were integers (`20140513`): cast to text first.
    pub from_integer: bool,
    /// No value told month and day apart (both at most 12 everywhere).
    pub ambiguous: bool,
}

impl DateLayout {
    /// The expression (quarry's SQL) that reads `column` as a date.
    pub fn cast_expr(&self, column: &str) -> String {
        let quoted = format!("\"{}\"", column.replace('"', "\"\""));
        let text = if self.from_integer {
            format!("CAST({quoted} AS VARCHAR)")
        } else {
            quoted
        };
        format!("DATE({text}, '{}')", self.format)
    }

    /// The note the schema shows.
    pub fn note(&self) -> String {
        let maybe = if self.ambiguous {
            " (or day first: no value had a day above 12)"
        } else {
            ""
        };
        format!("dates written {}{maybe}: a cast is offered", self.label)
    }
}

/// Columns of the sample `frame` whose every value is a date in one other
/// layout get a [`DateLayout`] in `inferred`.
pub(super) fn offer_date_casts(inferred: &mut Inferred, frame: &DataFrame) {
    for (name, dt) in inferred.schema.iter() {
        if inferred.notes.contains_key(name.as_str()) {
            continue;
        }
        let Ok(column) = frame.column(name.as_str()) else {
            continue;
        };
        let layout = match dt {
            DataType::String => column.str().ok().and_then(text_layout),
            DataType::Int64 => column.i64().ok().and_then(integer_layout),
            _ => None,
        };
        if let Some(layout) = layout {
            inferred.date_layouts.insert(name.to_string(), layout);
        }
    }
    for (name, layout) in &inferred.date_layouts {
        inferred.notes.insert(name.clone(), layout.note());
    }
}

/// `MM/DD/YYYY` or `DD/MM/YYYY` (one or two digits), or `DD.MM.YYYY`.
fn text_layout(values: &StringChunked) -> Option<DateLayout> {
    let (mut slash, mut dot) = (0usize, 0usize);
    let (mut first_over_12, mut second_over_12) = (false, false);
    for v in values.iter().flatten() {
        let sep = if v.contains('/') { '/' } else { '.' };
        let mut parts = v.split(sep);
        let (a, b, y) = (parts.next()?, parts.next()?, parts.next()?);
        let small = |p: &str| (1..=2).contains(&p.len()) && p.bytes().all(|c| c.is_ascii_digit());
        if parts.next().is_some()
            || !small(a)
            || !small(b)
            || y.len() != 4
            || !y.bytes().all(|c| c.is_ascii_digit())
        {
            return None;
        }
        let (a, b): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
        if a == 0 || b == 0 || a > 31 || b > 31 || (a > 12 && b > 12) {
            return None;
        }
        first_over_12 |= a > 12;
        second_over_12 |= b > 12;
        if sep == '/' {
            slash += 1;
        } else {
            dot += 1;
        }
    }
    if slash + dot == 0 || (slash > 0 && dot > 0) || (first_over_12 && second_over_12) {
        return None;
    }
    let day_first = first_over_12 || dot > 0;
    Some(match (dot > 0, day_first) {
        (true, _) => DateLayout {
            label: "DD.MM.YYYY",
            format: "%d.%m.%Y",
            from_integer: false,
            ambiguous: false,
        },
        (false, true) => DateLayout {
            label: "DD/MM/YYYY",
            format: "%d/%m/%Y",
            from_integer: false,
            ambiguous: false,
        },
        (false, false) => DateLayout {
            label: "MM/DD/YYYY",
            format: "%m/%d/%Y",
            from_integer: false,
            ambiguous: !second_over_12,
        },
    })
}

/// `YYYYMMDD` integers, every one a real day between 1800 and 2199.
fn integer_layout(values: &Int64Chunked) -> Option<DateLayout> {
    let mut any = false;
    for v in values.iter().flatten() {
        let (y, m, d) = (v / 10_000, v / 100 % 100, v % 100);
        let days = match m {
            2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            1..=12 => 31,
            _ => return None,
        };
        if !(1800..2200).contains(&y) || d < 1 || d > days {
            return None;
        }
        any = true;
    }
    any.then_some(DateLayout {
        label: "YYYYMMDD",
        format: "%Y%m%d",
        from_integer: true,
        ambiguous: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(values: &[&str]) -> Option<&'static str> {
        text_layout(&StringChunked::from_slice("c".into(), values)).map(|l| l.label)
    }

    #[test]
    fn layouts_are_recognised_and_month_day_order_read_from_the_values() {
        assert_eq!(text(&["05/13/2014", "1/2/2015"]), Some("MM/DD/YYYY"));
        assert_eq!(text(&["13/05/2014", "01/02/2015"]), Some("DD/MM/YYYY"));
        assert_eq!(text(&["13.05.2014"]), Some("DD.MM.YYYY"));
        assert_eq!(text(&["05/13/2014", "13/05/2014"]), None);
        assert_eq!(text(&["05/13/14"]), None);
        assert_eq!(text(&["a/b/cdef"]), None);
        let ints = Int64Chunked::from_slice("c".into(), &[20140513, 19991231]);
        assert_eq!(integer_layout(&ints).map(|l| l.label), Some("YYYYMMDD"));
        let ids = Int64Chunked::from_slice("c".into(), &[20140513, 20141332]);
        assert_eq!(integer_layout(&ids), None);
    }
}
