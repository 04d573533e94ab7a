//! Everything a user can do, by name: keymap files bind keys to these.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    MoveDown,
    MoveUp,
    MoveLeft,
    MoveRight,
    PageDown,
    PageUp,
    HalfPageDown,
    HalfPageUp,
    Top,
    Bottom,
    FirstColumn,
    LastColumn,
    ViewTable,
    ViewPipeline,
    ViewSchema,
    ToggleHelp,
    FocusPipeline,
    FocusTable,
    FilterPrompt,
    DerivePrompt,
    GroupByPrompt,
    SearchPrompt,
    SearchNext,
    SearchPrev,
    CommandPalette,
    Frequency,
    SortAscending,
    SortDescending,
    DropColumn,
    ToggleTake,
    CopyCell,
    CopyRow,
    DeleteStep,
    MoveStepUp,
    MoveStepDown,
    EditStep,
    Undo,
    Redo,
    Submit,
    CancelPrompt,
    Complete,
    Quit,
    ViewGraph,
    ViewProgress,
    ViewResult,
    Compute,
    Cancel,
    WriteResult,
    Persist,
    TogglePlan,
    ApplyFix,
    ToggleStep,
    Describe,
    ToggleLogScale,
}

impl Action {
    /// Every action, for help screens and keymap validation.
    pub const ALL: [Action; 54] = [
        Action::MoveDown,
        Action::MoveUp,
        Action::MoveLeft,
        Action::MoveRight,
        Action::PageDown,
        Action::PageUp,
        Action::HalfPageDown,
        Action::HalfPageUp,
        Action::Top,
        Action::Bottom,
        Action::FirstColumn,
        Action::LastColumn,
        Action::ViewTable,
        Action::ViewPipeline,
        Action::ViewSchema,
        Action::ToggleHelp,
        Action::FocusPipeline,
        Action::FocusTable,
        Action::FilterPrompt,
        Action::DerivePrompt,
        Action::GroupByPrompt,
        Action::SearchPrompt,
        Action::SearchNext,
        Action::SearchPrev,
        Action::CommandPalette,
        Action::Frequency,
        Action::SortAscending,
        Action::SortDescending,
        Action::DropColumn,
        Action::ToggleTake,
        Action::CopyCell,
        Action::CopyRow,
        Action::DeleteStep,
        Action::MoveStepUp,
        Action::MoveStepDown,
        Action::EditStep,
        Action::Undo,
        Action::Redo,
        Action::Submit,
        Action::CancelPrompt,
        Action::Complete,
        Action::Quit,
        Action::ViewGraph,
        Action::ViewProgress,
        Action::ViewResult,
        Action::Compute,
        Action::Cancel,
        Action::WriteResult,
        Action::Persist,
        Action::TogglePlan,
        Action::ApplyFix,
        Action::ToggleStep,
        Action::Describe,
        Action::ToggleLogScale,
    ];

    /// The name keymap files use.
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    /// One line for the help screen.
    pub fn describe(self) -> &'static str {
        match self {
            Action::MoveDown => "next row",
            Action::MoveUp => "previous row",
            Action::MoveLeft => "previous column",
            Action::MoveRight => "next column",
            Action::PageDown => "page down",
            Action::PageUp => "page up",
            Action::HalfPageDown => "half a page down",
            Action::HalfPageUp => "half a page up",
            Action::Top => "first row",
            Action::Bottom => "last row",
            Action::FirstColumn => "first column",
            Action::LastColumn => "last column",
            Action::ViewTable => "table view",
            Action::ViewPipeline => "pipeline view",
            Action::ViewSchema => "schema view",
            Action::ToggleHelp => "this help",
            Action::FocusPipeline => "focus the pipeline panel",
            Action::FocusTable => "focus the table",
            Action::FilterPrompt => "filter rows (prefilled with the current cell)",
            Action::DerivePrompt => "add a derived column",
            Action::GroupByPrompt => "group by the current column",
            Action::SearchPrompt => "search the preview",
            Action::SearchNext => "next match",
            Action::SearchPrev => "previous match",
            Action::CommandPalette => {
                "command palette (:w FILE.toml, :e FILE.toml, :q, :sql …, :join …: ? lists them)"
            }
            Action::Frequency => "frequency of the current column",
            Action::SortAscending => "sort ascending by the current column",
            Action::SortDescending => "sort descending by the current column",
            Action::DropColumn => "drop the current column",
            Action::ToggleTake => "toggle head / random take",
            Action::CopyCell => "copy the current cell (OSC 52)",
            Action::CopyRow => "copy the current row, tab-separated (OSC 52)",
            Action::DeleteStep => "delete the selected step",
            Action::MoveStepUp => "move the step up",
            Action::MoveStepDown => "move the step down",
            Action::EditStep => "edit the selected step",
            Action::Undo => "undo a pipeline change",
            Action::Redo => "redo",
            Action::Submit => "accept",
            Action::CancelPrompt => "cancel",
            Action::Complete => "complete a column or function name",
            Action::Quit => "quit",
            Action::ViewGraph => "task graph view",
            Action::ViewProgress => "progress view",
            Action::ViewResult => "result view",
            Action::Compute => "compute the pipeline at the selected step",
            Action::Cancel => "cancel the running job (quits when none runs)",
            Action::WriteResult => "write the result to a file",
            Action::Persist => "keep the selected step's partitions for later runs (toggle)",
            Action::TogglePlan => "graph view: polars' plan of one partition task",
            Action::ApplyFix => "apply the suggested fix of a failed job and re-run",
            Action::ToggleStep => {
                "disable / enable the selected step (kept in the recipe, not run)"
            }
            Action::Describe => {
                "describe every column over all rows (F / h on a row: frequencies / histogram)"
            }
            Action::ToggleLogScale => "histogram: toggle a log scale",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for a in Action::ALL {
            let back: Action = serde_json::from_value(serde_json::Value::String(a.name())).unwrap();
            assert_eq!(back, a);
        }
    }
}
