//! Charts of the rows on screen (the preview or the computed result): what
//! to plot (`ChartSpec`, from the palette's `chart` command or a default for
//! the current column) and the series it makes (`ChartData`), shaped once
//! when the spec or the rows change so drawing a frame stays cheap. Large
//! inputs are binned (line) or thinned (scatter), and say so.

use polars::prelude::*;

use crate::engine::stats::describe::short_float;

/// Series drawn at most (the rest of the groups are left out, and said).
pub const MAX_SERIES: usize = 8;
/// Points per series a line keeps: about two per braille dot column of a
/// wide terminal. More are averaged per equal-width bin of x.
pub const LINE_POINTS: usize = 1_000;
/// Points a scatter keeps; more are thinned to every k-th.
pub const SCATTER_POINTS: usize = 20_000;
/// Bars a bar chart shows (the first rows).
pub const MAX_BARS: usize = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartKind {
    Line,
    Scatter,
    Bar,
}

impl ChartKind {
    pub fn name(self) -> &'static str {
        match self {
            ChartKind::Line => "line",
            ChartKind::Scatter => "scatter",
            ChartKind::Bar => "bar",
        }
    }

    /// The next kind, for the key that cycles them.
    pub fn next(self) -> ChartKind {
        match self {
            ChartKind::Line => ChartKind::Scatter,
            ChartKind::Scatter => ChartKind::Bar,
            ChartKind::Bar => ChartKind::Line,
        }
    }

    fn parse(s: &str) -> Option<ChartKind> {
        Some(match s {
            "line" => ChartKind::Line,
            "scatter" | "points" => ChartKind::Scatter,
            "bar" | "bars" => ChartKind::Bar,
            _ => return None,
        })
    }
}

/// What to plot.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartSpec {
    pub kind: ChartKind,
    pub x: String,
    pub ys: Vec<String>,
    /// One series per value of this column.
    pub group: Option<String>,
    pub log_y: bool,
}

impl ChartSpec {
    /// `[line|scatter|bar] X Y[, Y2…] [by G] [log]`, e.g.
    /// `line DATE total by state log`.
    pub fn parse(arg: &str) -> Result<ChartSpec, String> {
        let usage =
            "chart [line|scatter|bar] X Y[,Y2…] [by G] [log], e.g. chart line date total by state";
        let mut words: Vec<&str> = arg.split_whitespace().collect();
        let kind = match words.first().and_then(|w| ChartKind::parse(w)) {
            Some(k) => {
                words.remove(0);
                k
            }
            None => ChartKind::Line,
        };
        let log_y = words.last() == Some(&"log");
        if log_y {
            words.pop();
        }
        let group = match words.iter().position(|w| *w == "by") {
            Some(i) => {
                let g = words
                    .get(i + 1)
                    .ok_or_else(|| format!("`by` needs a column: {usage}"))?;
                let g = g.to_string();
                words.truncate(i);
                Some(g)
            }
            None => None,
        };
        let (x, rest) = words.split_first().ok_or_else(|| usage.to_string())?;
        let ys: Vec<String> = rest
            .join(" ")
            .split(',')
            .map(|y| y.trim().to_string())
            .filter(|y| !y.is_empty())
            .collect();
        if ys.is_empty() {
            return Err(format!("name the y column(s): {usage}"));
        }
        Ok(ChartSpec {
            kind,
            x: x.to_string(),
            ys,
            group,
            log_y,
        })
    }

    /// A first chart of `frame` for the current column: it is the y when
    /// numeric (against the first date column, else the first other column),
    /// else the x of a bar chart of the first numeric column.
    pub fn default_for(frame: &DataFrame, current: &str) -> Option<ChartSpec> {
        let schema = frame.schema();
        let numeric = |n: &str| schema.get(n).is_some_and(|d| d.is_primitive_numeric());
        let temporal = |n: &str| schema.get(n).is_some_and(|d| d.is_temporal());
        let names: Vec<String> = frame
            .get_column_names()
            .iter()
            .map(|n| n.to_string())
            .collect();
        if numeric(current) {
            let x = names
                .iter()
                .find(|n| temporal(n))
                .or_else(|| names.iter().find(|n| n.as_str() != current))?
                .clone();
            let kind = if temporal(&x) || numeric(&x) {
                ChartKind::Line
            } else {
                ChartKind::Bar
            };
            return Some(ChartSpec {
                kind,
                x,
                ys: vec![current.to_string()],
                group: None,
                log_y: false,
            });
        }
        let y = names.iter().find(|n| numeric(n))?.clone();
        let kind = if temporal(current) {
            ChartKind::Line
        } else {
            ChartKind::Bar
        };
        Some(ChartSpec {
            kind,
            x: current.to_string(),
            ys: vec![y],
            group: None,
            log_y: false,
        })
    }

    /// The palette command that makes this spec again.
    pub fn command(&self) -> String {
        let mut c = format!(
            "chart {} {} {}",
            self.kind.name(),
            self.x,
            self.ys.join(",")
        );
        if let Some(g) = &self.group {
            c.push_str(&format!(" by {g}"));
        }
        if self.log_y {
            c.push_str(" log");
        }
        c
    }
}

/// How x reads: numbers, instants (of this dtype), or category labels.
#[derive(Debug, Clone, PartialEq)]
pub enum XAxis {
    Numeric,
    Temporal(DataType),
    Categories(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChartSeries {
    pub name: String,
    /// (x, y), x ascending for lines; y already log10 for a log scale.
    pub points: Vec<(f64, f64)>,
}

/// The series to draw, with their bounds.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartData {
    pub spec: ChartSpec,
    pub x_axis: XAxis,
    pub series: Vec<ChartSeries>,
    pub x_bounds: [f64; 2],
    pub y_bounds: [f64; 2],
    /// Rows the chart was made from.
    pub rows: usize,
    /// How the input was reduced for drawing, when it was.
    pub note: Option<String>,
}

impl ChartData {
    /// An x value as axis text: a date or time on a time axis, the
    /// category's label on a bar chart.
    pub fn x_label(&self, v: f64) -> String {
        match &self.x_axis {
            XAxis::Temporal(dtype) => {
                let s = Series::new("".into(), [v.round() as i64]);
                s.cast(dtype)
                    .ok()
                    .and_then(|s| s.get(0).ok().map(|v| crate::cell::cell_text(&v)))
                    .unwrap_or_else(|| short_float(v))
            }
            XAxis::Categories(labels) if v >= 0.0 && v.fract() == 0.0 => labels
                .get(v as usize)
                .cloned()
                .unwrap_or_else(|| short_float(v)),
            _ => short_float(v),
        }
    }

    /// A y value as axis text (back from log10 on a log scale).
    pub fn y_label(&self, v: f64) -> String {
        if self.spec.log_y {
            short_float(10f64.powf(v))
        } else {
            short_float(v)
        }
    }
}

/// Shape `frame` into the series `spec` asks for.
pub fn chart_data(frame: &DataFrame, spec: &ChartSpec) -> Result<ChartData, String> {
    let column = |name: &str| {
        frame
            .column(name)
            .map_err(|_| format!("no column `{name}` in the rows on screen"))
    };
    let x_col = column(&spec.x)?;
    let x_dtype = x_col.dtype().clone();
    let categorical =
        spec.kind == ChartKind::Bar || !(x_dtype.is_primitive_numeric() || x_dtype.is_temporal());
    let rows = frame.height();
    let (xs, x_axis): (Vec<Option<f64>>, XAxis) = if categorical {
        let take = rows.min(MAX_BARS);
        let labels: Vec<String> = (0..take)
            .map(|i| {
                x_col
                    .get(i)
                    .map(|v| crate::cell::cell_text(&v))
                    .unwrap_or_default()
            })
            .collect();
        (
            (0..take).map(|i| Some(i as f64)).collect(),
            XAxis::Categories(labels),
        )
    } else {
        let physical = if x_dtype.is_temporal() {
            x_col
                .to_physical_repr()
                .cast(&DataType::Float64)
                .map_err(|e| e.to_string())?
        } else {
            x_col.cast(&DataType::Float64).map_err(|e| e.to_string())?
        };
        let values = floats(&physical)?;
        let axis = if x_dtype.is_temporal() {
            XAxis::Temporal(x_dtype.clone())
        } else {
            XAxis::Numeric
        };
        (values, axis)
    };
    // Each row's group as an index into `group_names` (text, once per
    // distinct value: a million rows must not make a million strings).
    let mut group_names: Vec<String> = Vec::new();
    let group_of: Option<Vec<u32>> = match &spec.group {
        Some(g) => {
            let text = column(g)?
                .cast(&DataType::String)
                .map_err(|e| e.to_string())?;
            let text = text.str().map_err(|e| e.to_string())?;
            let mut index: std::collections::HashMap<&str, u32> = Default::default();
            let mut codes = Vec::with_capacity(xs.len());
            for v in text.iter().take(xs.len()) {
                let v = v.unwrap_or("null");
                let next = index.len() as u32;
                let code = *index.entry(v).or_insert_with(|| {
                    group_names.push(v.to_string());
                    next
                });
                codes.push(code);
            }
            Some(codes)
        }
        None => None,
    };
    let mut note = Vec::new();
    if categorical && rows > MAX_BARS {
        note.push(format!("the first {MAX_BARS} of {rows} rows"));
    }
    // Series: one per y, or one per (y, group value).
    let groups = group_names.len().max(1);
    let mut order: Vec<String> = Vec::new();
    let mut by_name: std::collections::HashMap<String, Vec<(f64, f64)>> = Default::default();
    let mut dropped_log = 0usize;
    for y in &spec.ys {
        let yc = column(y)?;
        if !yc.dtype().is_primitive_numeric() {
            return Err(format!("y column `{y}` is {}, not a number", yc.dtype()));
        }
        let yv = floats(&yc.cast(&DataType::Float64).map_err(|e| e.to_string())?)?;
        let mut points: Vec<Vec<(f64, f64)>> = vec![Vec::new(); groups];
        for (i, (x, v)) in xs.iter().zip(&yv).enumerate() {
            let (Some(x), Some(mut v)) = (*x, *v) else {
                continue;
            };
            if !x.is_finite() || !v.is_finite() {
                continue;
            }
            if spec.log_y {
                if v <= 0.0 {
                    dropped_log += 1;
                    continue;
                }
                v = v.log10();
            }
            let g = group_of.as_ref().map_or(0, |codes| codes[i] as usize);
            points[g].push((x, v));
        }
        for (g, pts) in points.into_iter().enumerate() {
            if pts.is_empty() {
                continue;
            }
            let name = match (group_names.get(g), spec.ys.len()) {
                (Some(name), 1) => name.clone(),
                (Some(name), _) => format!("{name} · {y}"),
                (None, _) => y.clone(),
            };
            order.push(name.clone());
            by_name.insert(name, pts);
        }
    }
    if dropped_log > 0 {
        note.push(format!(
            "{dropped_log} values ≤ 0 left out of the log scale"
        ));
    }
    // The largest groups first; at most MAX_SERIES of them.
    if spec.group.is_some() {
        order.sort_by_key(|n| std::cmp::Reverse(by_name[n].len()));
    }
    if order.len() > MAX_SERIES {
        note.push(format!(
            "the {MAX_SERIES} largest of {} series",
            order.len()
        ));
        order.truncate(MAX_SERIES);
    }
    let mut series = Vec::new();
    for name in order {
        let mut points = by_name.remove(&name).unwrap_or_default();
        let n = points.len();
        let binned = spec.kind == ChartKind::Line && n > LINE_POINTS;
        if !categorical && !binned {
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
        }
        let points = match spec.kind {
            ChartKind::Line if binned => {
                note.push(format!("{n} points averaged into {LINE_POINTS} bins of x"));
                bin_means(&points, LINE_POINTS)
            }
            ChartKind::Scatter if n > SCATTER_POINTS => {
                let step = n.div_ceil(SCATTER_POINTS);
                note.push(format!("every {step}th of {n} points"));
                points.into_iter().step_by(step).collect()
            }
            _ => points,
        };
        series.push(ChartSeries { name, points });
    }
    note.dedup();
    let bounds = |f: fn(&(f64, f64)) -> f64| {
        let mut lo = f64::INFINITY;
        let mut hi = f64::NEG_INFINITY;
        for p in series.iter().flat_map(|s| s.points.iter()) {
            lo = lo.min(f(p));
            hi = hi.max(f(p));
        }
        if !lo.is_finite() {
            return [0.0, 1.0];
        }
        if hi <= lo {
            return [lo - 0.5, hi + 0.5];
        }
        [lo, hi]
    };
    let x_bounds = match &x_axis {
        XAxis::Categories(labels) => [-0.5, labels.len().max(1) as f64 - 0.5],
        _ => bounds(|p| p.0),
    };
    let mut y_bounds = bounds(|p| p.1);
    if spec.kind == ChartKind::Bar && !spec.log_y {
        y_bounds[0] = y_bounds[0].min(0.0);
    }
    Ok(ChartData {
        spec: spec.clone(),
        x_axis,
        series,
        x_bounds,
        y_bounds,
        rows,
        note: (!note.is_empty()).then(|| note.join("; ")),
    })
}

/// A float column's values, nulls as `None`.
fn floats(c: &Column) -> Result<Vec<Option<f64>>, String> {
    let ca = c.f64().map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(ca.len());
    for arr in ca.downcast_iter() {
        out.extend(arr.iter().map(|v| v.copied()));
    }
    Ok(out)
}

/// Mean y per equal-width bin of x, at the bin's mean x, in x order (the
/// points need not be sorted).
fn bin_means(points: &[(f64, f64)], bins: usize) -> Vec<(f64, f64)> {
    let (lo, hi) = points
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
            (lo.min(p.0), hi.max(p.0))
        });
    let width = (hi - lo) / bins as f64;
    if width <= 0.0 {
        let n = points.len() as f64;
        let y = points.iter().map(|p| p.1).sum::<f64>() / n;
        return vec![(lo, y)];
    }
    let mut sums = vec![(0.0f64, 0.0f64, 0usize); bins];
    for &(x, y) in points {
        let b = (((x - lo) / width) as usize).min(bins - 1);
        sums[b].0 += x;
        sums[b].1 += y;
        sums[b].2 += 1;
    }
    sums.into_iter()
        .filter(|s| s.2 > 0)
        .map(|(sx, sy, n)| (sx / n as f64, sy / n as f64))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> DataFrame {
        df!(
            "day" => [3i32, 1, 2, 4],
            "state" => ["TX", "TX", "OH", "OH"],
            "total" => [30.0, 10.0, 20.0, 40.0],
            "n" => [3i64, 1, 2, 4]
        )
        .unwrap()
    }

    #[test]
    fn parses_kind_columns_group_and_log() {
        let s = ChartSpec::parse("scatter day total, n by state log").unwrap();
        assert_eq!(s.kind, ChartKind::Scatter);
        assert_eq!(s.x, "day");
        assert_eq!(s.ys, ["total", "n"]);
        assert_eq!(s.group.as_deref(), Some("state"));
        assert!(s.log_y);
        assert_eq!(ChartSpec::parse(&s.command()["chart ".len()..]).unwrap(), s);
        assert_eq!(ChartSpec::parse("day total").unwrap().kind, ChartKind::Line);
        assert!(ChartSpec::parse("day").unwrap_err().contains("y column"));
        assert!(ChartSpec::parse("day total by").is_err());
    }

    #[test]
    fn a_line_is_sorted_by_x_and_groups_are_series() {
        let spec = ChartSpec::parse("line day total by state").unwrap();
        let d = chart_data(&frame(), &spec).unwrap();
        assert_eq!(d.series.len(), 2);
        let tx = d.series.iter().find(|s| s.name == "TX").unwrap();
        assert_eq!(tx.points, [(1.0, 10.0), (3.0, 30.0)]);
        assert_eq!(d.x_bounds, [1.0, 4.0]);
        assert_eq!(d.y_bounds, [10.0, 40.0]);
        assert!(d.note.is_none());
    }

    #[test]
    fn bars_take_categories_in_row_order_from_zero() {
        let spec = ChartSpec::parse("bar state n").unwrap();
        let d = chart_data(&frame(), &spec).unwrap();
        assert_eq!(
            d.x_axis,
            XAxis::Categories(vec!["TX".into(), "TX".into(), "OH".into(), "OH".into()])
        );
        assert_eq!(d.y_bounds[0], 0.0);
    }

    #[test]
    fn a_log_scale_leaves_out_what_it_cannot_show_and_says_so() {
        let f = df!("x" => [1.0, 2.0, 3.0], "y" => [100.0, 0.0, 1000.0]).unwrap();
        let d = chart_data(&f, &ChartSpec::parse("line x y log").unwrap()).unwrap();
        assert_eq!(d.series[0].points, [(1.0, 2.0), (3.0, 3.0)]);
        assert!(d.note.unwrap().contains("1 values ≤ 0"));
    }

    #[test]
    fn many_points_are_binned_for_a_line_and_thinned_for_a_scatter() {
        let n = 100_000;
        let f = df!(
            "x" => (0..n).map(|i| i as f64).collect::<Vec<_>>(),
            "y" => (0..n).map(|i| (i % 10) as f64).collect::<Vec<_>>()
        )
        .unwrap();
        let line = chart_data(&f, &ChartSpec::parse("line x y").unwrap()).unwrap();
        assert_eq!(line.series[0].points.len(), LINE_POINTS);
        // Each bin averages whole cycles of 0..9.
        assert!((line.series[0].points[0].1 - 4.5).abs() < 1e-9);
        assert!(line.note.unwrap().contains("averaged"));
        let scatter = chart_data(&f, &ChartSpec::parse("scatter x y").unwrap()).unwrap();
        assert!(scatter.series[0].points.len() <= SCATTER_POINTS);
        assert!(scatter.note.unwrap().contains("every 5th"));
    }

    #[test]
    fn dates_are_a_time_axis_and_text_is_refused_as_y() {
        let f = df!("d" => [1i32, 2], "v" => [1.0, 2.0], "t" => ["a", "b"])
            .unwrap()
            .lazy()
            .with_column(col("d").cast(DataType::Date))
            .collect()
            .unwrap();
        let d = chart_data(&f, &ChartSpec::parse("line d v").unwrap()).unwrap();
        assert_eq!(d.x_axis, XAxis::Temporal(DataType::Date));
        let err = chart_data(&f, &ChartSpec::parse("line d t").unwrap()).unwrap_err();
        assert!(err.contains("not a number"), "{err}");
        let spec = ChartSpec::default_for(&f, "v").unwrap();
        assert_eq!((spec.kind, spec.x.as_str()), (ChartKind::Line, "d"));
    }
}
