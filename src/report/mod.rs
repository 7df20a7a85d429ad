//! The HTML report: one self-contained file (inline CSS and SVG, no script,
//! no request outside the file), printable on A4, in kk/ru/en.
//!
//! [`view`] turns an assessment, its questionnaire and evidence into a view
//! model of plain, sanitised strings; `templates/report.html` (askama, HTML
//! auto-escaping) lays it out; [`filters`] holds the formatting helpers and
//! [`svg`] the drawings.

pub mod filters;
pub mod survey;
pub mod svg;
pub mod view;

use askama::Template;

use crate::questionnaire::Lang;
use crate::questionnaire::glossary::Glossary;
use crate::questionnaire::ui::Labels;
pub use view::{Inputs, ReportView};

#[derive(Template)]
#[template(path = "report.html")]
struct ReportTemplate<'a> {
    v: &'a ReportView,
    labels: &'a Labels,
    lang: Lang,
}

impl ReportTemplate<'_> {
    /// A label in the report's language.
    fn t(&self, key: &str) -> String {
        self.labels.get(key, self.lang).to_owned()
    }
}

/// Renders a view model.
pub fn render_view(view: &ReportView, labels: &Labels, lang: Lang) -> String {
    ReportTemplate {
        v: view,
        labels,
        lang,
    }
    .render()
    .expect("rendering into a String cannot fail")
}

/// Builds the view model and renders the report.
pub fn render(inputs: &Inputs<'_>) -> String {
    let labels = Labels::builtin();
    let view = ReportView::build(inputs, &labels, &Glossary::builtin());
    render_view(&view, &labels, inputs.lang)
}

#[cfg(test)]
mod tests;
