//! The chart view: open a chart of the rows on screen (the preview, or the
//! computed result when that is what the table shows), change its kind or
//! scale, and keep it in step with a new preview.

use super::Effect;
use crate::app::action::Action;
use crate::app::chart::{chart_data, ChartSpec};
use crate::app::state::{ChartView, State, View};
use crate::app::status::Status;

pub fn on_action(s: &mut State, a: Action) -> Option<Vec<Effect>> {
    match a {
        Action::Chart => Some(open_default(s)),
        Action::ChartKind if s.view == View::Chart => {
            Some(change(s, |spec| spec.kind = spec.kind.next()))
        }
        Action::ChartKind => {
            s.status = Some(
                Status::info("no chart on screen: ")
                    .key(Action::Chart)
                    .then(" opens one"),
            );
            Some(vec![])
        }
        Action::ToggleLogScale if s.view == View::Chart => {
            Some(change(s, |spec| spec.log_y = !spec.log_y))
        }
        _ => None,
    }
}

/// The palette's `chart ARGS`: the chart they describe.
pub fn open_spec(s: &mut State, arg: &str) -> Result<Vec<Effect>, String> {
    if arg.trim().is_empty() {
        return Ok(open_default(s));
    }
    let spec = ChartSpec::parse(arg)?;
    let of_result = charts_result(s);
    Ok(show(s, spec, of_result))
}

/// Whether a new chart is of the computed result (the table shows it).
fn charts_result(s: &State) -> bool {
    match &s.chart {
        Some(c) if s.view == View::Chart => c.of_result,
        _ => s.view == View::Result && s.jobs.result.is_some(),
    }
}

fn open_default(s: &mut State) -> Vec<Effect> {
    let of_result = charts_result(s);
    let frame = if of_result {
        s.jobs.result.as_ref().map(|r| &r.frame)
    } else {
        s.preview.frame.as_ref()
    };
    let current = s.current_column().unwrap_or_default();
    let Some(spec) = frame.and_then(|f| ChartSpec::default_for(f, &current)) else {
        s.status = Some(Status::info(
            "nothing to chart: a chart needs a numeric column (:chart X Y names them)",
        ));
        return vec![];
    };
    show(s, spec, of_result)
}

fn show(s: &mut State, spec: ChartSpec, of_result: bool) -> Vec<Effect> {
    s.chart = Some(ChartView {
        data: Err(String::new()),
        spec,
        of_result,
        shaping: None,
    });
    s.view = View::Chart;
    s.record_open = false;
    refresh(s)
}

fn change(s: &mut State, edit: impl FnOnce(&mut ChartSpec)) -> Vec<Effect> {
    if let Some(c) = &mut s.chart {
        edit(&mut c.spec);
    }
    refresh(s)
}

/// Charts of more rows than this are shaped on a worker (1,000,000 rows
/// take about 100 ms); fewer are shaped at once, without a frame's delay.
pub const SHAPE_INLINE_ROWS: usize = 50_000;

/// The rows the chart is drawn from: the computed result or the preview.
pub fn chart_frame(s: &State) -> Option<&polars::prelude::DataFrame> {
    let c = s.chart.as_ref()?;
    if c.of_result {
        s.jobs.result.as_ref().map(|r| &r.frame)
    } else {
        s.preview.frame.as_ref()
    }
}

/// Shape the chart's series again from its rows (a new spec, a new
/// preview, a new result): at once for a few rows, else on a worker
/// (`Effect::ShapeChart`), keeping the last shape on screen meanwhile.
pub fn refresh(s: &mut State) -> Vec<Effect> {
    let Some(c) = &s.chart else { return vec![] };
    let spec = c.spec.clone();
    let rows = chart_frame(s).map(|f| f.height());
    match rows {
        Some(n) if n > SHAPE_INLINE_ROWS => {
            s.chart_requests += 1;
            let request = s.chart_requests;
            if let Some(c) = &mut s.chart {
                c.shaping = Some(request);
            }
            vec![Effect::ShapeChart { request }]
        }
        _ => {
            let data = match chart_frame(s) {
                Some(f) => chart_data(f, &spec),
                None => Err("no rows yet".into()),
            };
            if let Some(c) = &mut s.chart {
                c.data = data;
                c.shaping = None;
            }
            vec![]
        }
    }
}

/// A worker's shape for `request`; an answer to an older request is
/// dropped (a newer one is on its way).
pub fn shaped(
    s: &mut State,
    request: u64,
    data: Result<crate::app::chart::ChartData, String>,
) -> Vec<Effect> {
    if let Some(c) = &mut s.chart {
        if c.shaping == Some(request) {
            c.data = data;
            c.shaping = None;
        }
    }
    vec![]
}
