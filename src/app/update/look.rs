//! How the table reads: digit grouping, column widths, frozen columns and
//! columns hidden from view. None of it touches the pipeline.

use super::Effect;
use crate::app::action::Action;
use crate::app::state::{Focus, State, View};
use crate::app::status::Status;

/// Characters one widen or narrow adds or takes.
const WIDTH_STEP: i32 = 4;

pub fn on_action(s: &mut State, a: Action) -> Option<Vec<Effect>> {
    if s.focus != Focus::Table || !matches!(s.view, View::Table | View::Result) {
        return None;
    }
    match a {
        Action::ToggleDigitGrouping => {
            s.look.digit_grouping = !s.look.digit_grouping;
            s.status = Some(Status::info(if s.look.digit_grouping {
                "digit grouping on: 1,234,567"
            } else {
                "digit grouping off"
            }));
        }
        Action::WidenColumn | Action::NarrowColumn => {
            let name = s.column_names().get(s.table.col)?.clone();
            let step = if a == Action::WidenColumn {
                WIDTH_STEP
            } else {
                -WIDTH_STEP
            };
            let delta = s.look.width_delta.entry(name).or_insert(0);
            // The table clamps the result to 3..=200 characters.
            *delta = (*delta + step).clamp(-200, 200);
        }
        Action::FreezeColumns => {
            if s.look.frozen > 0 {
                s.look.frozen = 0;
                s.status = Some(Status::info("columns unfrozen"));
            } else {
                let names = s.column_names();
                let upto = names
                    .iter()
                    .take(s.table.col + 1)
                    .filter(|n| !s.look.hidden.contains(*n))
                    .count();
                s.look.frozen = upto.max(1);
                s.status = Some(Status::info(format!(
                    "{} column{} frozen",
                    s.look.frozen,
                    if s.look.frozen == 1 { "" } else { "s" }
                )));
            }
        }
        Action::HideColumn => {
            let names = s.column_names();
            let name = names.get(s.table.col)?.clone();
            let shown = names.iter().filter(|n| !s.look.hidden.contains(*n)).count();
            if shown <= 1 {
                s.status = Some(Status::error("the last column on view stays"));
                return Some(vec![]);
            }
            s.look.hidden.insert(name.clone());
            s.table.col = next_shown(s, s.table.col, 1)
                .or_else(|| next_shown(s, s.table.col, -1))
                .unwrap_or(0);
            s.status = Some(
                Status::info(format!("{name} hidden from view; "))
                    .key(Action::ShowColumns)
                    .then(" shows it again"),
            );
        }
        Action::ShowColumns => {
            let n = s.look.hidden.len();
            s.look.hidden.clear();
            s.status = Some(Status::info(format!("{n} hidden columns shown")));
        }
        // With columns hidden, left and right skip them.
        Action::MoveLeft | Action::MoveRight if !s.look.hidden.is_empty() => {
            let dir = if a == Action::MoveRight { 1 } else { -1 };
            if let Some(c) = next_shown(s, s.table.col, dir) {
                s.table.col = c;
            }
            s.table.col_offset = s.table.col_offset.min(s.table.col);
        }
        _ => return None,
    }
    Some(vec![])
}

/// The nearest column past `from` in direction `dir` that is on view.
fn next_shown(s: &State, from: usize, dir: i64) -> Option<usize> {
    let names = s.column_names();
    let mut i = from as i64 + dir;
    while i >= 0 && (i as usize) < names.len() {
        if !s.look.hidden.contains(&names[i as usize]) {
            return Some(i as usize);
        }
        i += dir;
    }
    None
}
