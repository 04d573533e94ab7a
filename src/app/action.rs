//! Everything a user can do, by name: keymap files bind keys to these. One
//! table below defines each action's name (what keymap files say), short
//! label (status-line hints) and help line; the list of all actions, the
//! name lookups and the labels are derived from it.

macro_rules! actions {
    ($($variant:ident = $name:literal, $short:literal, $help:literal;)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action {
            $($variant,)*
        }

        impl Action {
            /// Every action, in the table's order (help screens list them so).
            pub const ALL: &'static [Action] = &[$(Action::$variant,)*];

            /// The name keymap files use.
            pub fn name(self) -> &'static str {
                match self {
                    $(Action::$variant => $name,)*
                }
            }

            /// The action a keymap file names, if any.
            pub fn from_name(name: &str) -> Option<Action> {
                match name {
                    $($name => Some(Action::$variant),)*
                    _ => None,
                }
            }

            /// One or two words, for hints next to a key.
            pub fn short(self) -> &'static str {
                match self {
                    $(Action::$variant => $short,)*
                }
            }

            /// One line for the help screen.
            pub fn describe(self) -> &'static str {
                match self {
                    $(Action::$variant => $help,)*
                }
            }
        }
    };
}

actions! {
    MoveDown = "move_down", "down", "next row";
    MoveUp = "move_up", "up", "previous row";
    MoveLeft = "move_left", "left", "previous column";
    MoveRight = "move_right", "right", "next column";
    PageDown = "page_down", "page down", "page down";
    PageUp = "page_up", "page up", "page up";
    HalfPageDown = "half_page_down", "half page down", "half a page down";
    HalfPageUp = "half_page_up", "half page up", "half a page up";
    Top = "top", "top", "first row";
    Bottom = "bottom", "bottom", "last row";
    FirstColumn = "first_column", "first column", "first column";
    LastColumn = "last_column", "last column", "last column";
    ViewTable = "view_table", "table", "table view";
    ViewPipeline = "view_pipeline", "pipeline", "pipeline view";
    ViewSchema = "view_schema", "schema", "schema view";
    ToggleHelp = "toggle_help", "help", "this help";
    FocusPipeline = "focus_pipeline", "steps", "focus the pipeline panel";
    FocusTable = "focus_table", "table", "focus the table";
    FilterPrompt = "filter_prompt", "filter", "filter rows (prefilled with the current cell)";
    DerivePrompt = "derive_prompt", "derive", "add a derived column";
    GroupByPrompt = "group_by_prompt", "group", "group by the current column";
    PivotPrompt = "pivot_prompt", "pivot", "pivot on the current column (palette, prefilled)";
    UnpivotPrompt = "unpivot_prompt", "unpivot", "unpivot the current column (palette, prefilled)";
    SearchPrompt = "search_prompt", "search", "search the preview";
    SearchNext = "search_next", "next", "next match";
    SearchPrev = "search_prev", "previous", "previous match";
    CommandPalette = "command_palette", "command", "command palette (:w FILE.toml, :e FILE.toml, :q, :sql …, :join …: ? lists them)";
    Frequency = "frequency", "freq", "frequency sheet of the current column: count, share, cumulative share, bars (enter: the rows of a value)";
    SortAscending = "sort_ascending", "sort", "sort ascending by the current column";
    SortDescending = "sort_descending", "sort desc", "sort descending by the current column";
    DropColumn = "drop_column", "drop", "drop the current column";
    ToggleTake = "toggle_take", "take", "toggle head / random take";
    CopyCell = "copy_cell", "copy", "copy the current cell (OSC 52)";
    CopyRow = "copy_row", "copy row", "copy the current row, tab-separated (OSC 52)";
    ToggleDigitGrouping = "toggle_digit_grouping", "1,000", "toggle digit grouping (1,234,567) in the table";
    WidenColumn = "widen_column", "wider", "widen the current column";
    NarrowColumn = "narrow_column", "narrower", "narrow the current column";
    FreezeColumns = "freeze_columns", "freeze", "keep columns up to this one on screen (again: off)";
    HideColumn = "hide_column", "hide", "hide the current column from view (not a drop step)";
    ShowColumns = "show_columns", "show all", "show the hidden columns again";
    ViewRecord = "view_record", "record", "record view: every field of the row, whole (again: back)";
    OpenRow = "open_row", "open", "on a group, frequency or unique row: the rows behind it; on other rows: the record view";
    DrillBack = "drill_back", "back", "back from the rows of a group to where you were";
    KeepDrill = "keep_drill", "keep", "keep a drill-down's filter as a step of the recipe";
    DeleteStep = "delete_step", "delete", "delete the selected step";
    MoveStepUp = "move_step_up", "step up", "move the step up";
    MoveStepDown = "move_step_down", "step down", "move the step down";
    EditStep = "edit_step", "edit", "edit the selected step";
    Undo = "undo", "undo", "undo a pipeline change";
    Redo = "redo", "redo", "redo";
    Submit = "submit", "accept", "accept";
    CancelPrompt = "cancel_prompt", "cancel", "cancel";
    Complete = "complete", "complete", "complete a column or function name";
    HistoryOlder = "history_older", "older", "recall the previous entry of this prompt's history";
    HistoryNewer = "history_newer", "newer", "recall the next entry of this prompt's history (past the newest: what was typed)";
    Quit = "quit", "quit", "quit";
    ViewGraph = "view_graph", "graph", "task graph view";
    ViewProgress = "view_progress", "progress", "progress view";
    ViewResult = "view_result", "result", "result view";
    Compute = "compute", "compute", "compute the pipeline at the selected step";
    Cancel = "cancel", "cancel", "cancel the running job (quits when none runs)";
    WriteResult = "write_result", "write", "write the result to a file";
    Persist = "persist", "persist", "keep the selected step's partitions for later runs (toggle)";
    TogglePlan = "toggle_plan", "plan", "graph view: polars' plan of one partition task";
    ApplyFix = "apply_fix", "fix", "apply the suggested fix of a failed job and re-run";
    ToggleStep = "toggle_step", "on/off", "disable / enable the selected step (kept in the recipe, not run)";
    Describe = "describe", "describe", "describe every column over all rows (then frequencies or a histogram of the selected column)";
    Histogram = "histogram", "histogram", "histogram of the current column (numbers and dates; in the describe view, of the selected row's column)";
    CastToDate = "cast_to_date", "as date", "read the current column as a date (offered for dates written 05/13/2014, 13.05.2014 or 20140513)";
    QueueJob = "queue_job", "queue", "start the new job when the running one ends";
    ReplaceJob = "replace_job", "replace", "cancel the running job and start the new one";
    ToggleLogScale = "toggle_log_scale", "log scale", "histogram or chart: toggle a log scale";
    Chart = "chart", "chart", "chart the rows on screen: the current column against the first date (or other) column; :chart X Y by G picks columns";
    ChartKind = "chart_kind", "chart kind", "chart: line, scatter or bar";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for &a in Action::ALL {
            assert_eq!(Action::from_name(a.name()), Some(a));
            assert!(seen.insert(a.name()), "{} twice", a.name());
            assert!(!a.short().is_empty() && !a.describe().is_empty());
        }
        assert_eq!(Action::from_name("fly"), None);
    }
}
