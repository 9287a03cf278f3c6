//! The scorecard model and one renderer per output format. Renderers are pure
//! functions of the scorecard; the caller redacts and writes their text.

pub mod markdown;
pub mod model;
pub mod table;

use model::Scorecard;

/// An output format the user can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Markdown,
}

impl Format {
    pub fn parse(name: &str) -> Option<Format> {
        match name {
            "table" => Some(Format::Table),
            "json" => Some(Format::Json),
            "markdown" | "md" => Some(Format::Markdown),
            _ => None,
        }
    }
}

/// Renders the scorecard in `format`.
pub fn render(card: &Scorecard, format: Format, colour: bool) -> String {
    match format {
        Format::Table => table::render(card, colour),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(card).unwrap_or_else(|e| {
                format!("{{\"error\": \"cannot serialise the scorecard: {e}\"}}")
            });
            s.push('\n');
            s
        }
        Format::Markdown => markdown::render(card),
    }
}
