//! The record view: every field of the current row, whole. It reads the
//! table's cursor (the row is the record, the column the selected field),
//! so leaving it keeps the place: down and up move between fields, right
//! and left between records.

use super::navigation::move_rows;
use super::Effect;
use crate::app::action::Action;
use crate::app::state::{Focus, State, View};
use crate::app::status::Status;

pub fn on_action(s: &mut State, a: Action) -> Option<Vec<Effect>> {
    if a == Action::ViewRecord {
        return Some(toggle(s));
    }
    if !s.record_open {
        return None;
    }
    let fields = s.column_names().len();
    match a {
        Action::MoveDown => s.table.col = (s.table.col + 1).min(fields.saturating_sub(1)),
        Action::MoveUp => s.table.col = s.table.col.saturating_sub(1),
        Action::Top => s.table.col = 0,
        Action::Bottom => s.table.col = fields.saturating_sub(1),
        Action::MoveRight => return Some(move_rows(s, 1)),
        Action::MoveLeft => return Some(move_rows(s, -1)),
        _ => return None,
    }
    Some(vec![])
}

fn toggle(s: &mut State) -> Vec<Effect> {
    if s.record_open {
        s.record_open = false;
        return vec![];
    }
    if !matches!(s.view, View::Table | View::Result) || s.focus == Focus::Pipeline {
        s.status = Some(
            Status::info("a record is a row of the table or the result: ")
                .key(Action::ViewTable)
                .then(" shows the table"),
        );
        return vec![];
    }
    if s.frame_height() == 0 {
        s.status = Some(Status::info("no rows to show"));
        return vec![];
    }
    s.record_open = true;
    vec![]
}
