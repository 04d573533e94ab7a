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
        Action::Chart => {
            open_default(s);
            Some(vec![])
        }
        Action::ChartKind if s.view == View::Chart => {
            change(s, |spec| spec.kind = spec.kind.next());
            Some(vec![])
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
            change(s, |spec| spec.log_y = !spec.log_y);
            Some(vec![])
        }
        _ => None,
    }
}

/// The palette's `chart ARGS`: the chart they describe.
pub fn open_spec(s: &mut State, arg: &str) -> Result<(), String> {
    let spec = if arg.trim().is_empty() {
        return {
            open_default(s);
            Ok(())
        };
    } else {
        ChartSpec::parse(arg)?
    };
    let of_result = charts_result(s);
    show(s, spec, of_result);
    Ok(())
}

/// Whether a new chart is of the computed result (the table shows it).
fn charts_result(s: &State) -> bool {
    match &s.chart {
        Some(c) if s.view == View::Chart => c.of_result,
        _ => s.view == View::Result && s.jobs.result.is_some(),
    }
}

fn open_default(s: &mut State) {
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
        return;
    };
    show(s, spec, of_result);
}

fn show(s: &mut State, spec: ChartSpec, of_result: bool) {
    s.chart = Some(ChartView {
        data: Err(String::new()),
        spec,
        of_result,
    });
    s.view = View::Chart;
    s.record_open = false;
    refresh(s);
}

fn change(s: &mut State, edit: impl FnOnce(&mut ChartSpec)) {
    if let Some(c) = &mut s.chart {
        edit(&mut c.spec);
    }
    refresh(s);
}

/// Shape the chart's series again from its rows (a new spec, a new
/// preview, a new result).
pub fn refresh(s: &mut State) {
    let Some(c) = &s.chart else { return };
    let frame = if c.of_result {
        s.jobs.result.as_ref().map(|r| &r.frame)
    } else {
        s.preview.frame.as_ref()
    };
    let data = match frame {
        Some(f) => chart_data(f, &c.spec),
        None => Err("no rows yet".into()),
    };
    if let Some(c) = &mut s.chart {
        c.data = data;
    }
}
