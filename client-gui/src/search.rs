//! The search panel (Ctrl+K or the magnifier in the project bar): one query
//! over every session of every project, the trash when asked, answered by
//! the daemon's index. Hits show their session, project, role, time and a
//! snippet with the matched words marked; "More results" reads the next
//! page. A query the daemon cannot parse shows its sentence under the
//! field. Choosing a hit is the app's business (`App::open_hit`).

use chronicle_client::v1::{Role, SearchHit, SearchResponse, SessionKind, Span};
use eframe::egui::{self, Color32, FontId, Key, RichText, TextFormat, Ui, text::LayoutJob};

use crate::{
    app::App,
    backend::Request,
    widgets::{self, icon, name_widget},
};

/// The panel's state: the query, and the hits of the last search.
#[derive(Debug, Default)]
pub struct SearchPanel {
    pub open: bool,
    pub query: String,
    pub include_trash: bool,
    /// Bumped by every new search, so a late page of an older one is dropped.
    generation: u64,
    /// The query the hits below answer (the field may have changed since).
    searched: Option<String>,
    hits: Vec<SearchHit>,
    next_page_token: String,
    total_hits: u64,
    catching_up: bool,
    /// The daemon's sentence for a query it refused.
    refused: Option<String>,
    loading: bool,
    /// Focus the field on the next frame (it was just opened).
    focus: bool,
}

impl SearchPanel {
    /// Opens the panel with the field focused (Ctrl+K pressed again only
    /// focuses it).
    pub fn show_field(&mut self) {
        self.open = true;
        self.focus = true;
    }

    /// A new search for what the field holds, or `None` for an empty field.
    fn start(&mut self) -> Option<Request> {
        let query = self.query.trim().to_owned();
        if query.is_empty() {
            return None;
        }
        self.generation += 1;
        self.searched = Some(query.clone());
        self.hits.clear();
        self.next_page_token.clear();
        self.total_hits = 0;
        self.refused = None;
        self.catching_up = false;
        self.loading = true;
        Some(Request::Search {
            query,
            include_trash: self.include_trash,
            page_token: String::new(),
            generation: self.generation,
        })
    }

    /// The next page of the shown search.
    fn more(&mut self) -> Option<Request> {
        let query = self.searched.clone()?;
        if self.next_page_token.is_empty() || self.loading {
            return None;
        }
        self.loading = true;
        Some(Request::Search {
            query,
            include_trash: self.include_trash,
            page_token: self.next_page_token.clone(),
            generation: self.generation,
        })
    }

    /// Takes a page of hits; a page of an older search is dropped.
    pub fn apply_results(&mut self, generation: u64, more: bool, response: SearchResponse) {
        if generation != self.generation {
            return;
        }
        self.loading = false;
        if !more {
            self.hits.clear();
        }
        self.hits.extend(response.hits);
        self.next_page_token = response.next_page_token;
        self.total_hits = response.total_hits;
        self.catching_up = response.index_catching_up;
    }

    pub fn apply_refused(&mut self, generation: u64, message: String) {
        if generation != self.generation {
            return;
        }
        self.loading = false;
        self.hits.clear();
        self.next_page_token.clear();
        self.refused = Some(message);
    }

    /// A page request failed elsewhere (a toast says why): stop waiting.
    pub fn failed(&mut self) {
        self.loading = false;
    }
}

/// How a hit's session reads: "saved session “fix login”", "the working
/// session", "trash entry “…”".
pub fn session_title(hit: &SearchHit) -> String {
    match SessionKind::try_from(hit.kind).unwrap_or(SessionKind::Unspecified) {
        SessionKind::Working => "the working session".to_owned(),
        SessionKind::Trash => format!("trash entry “{}”", hit.session_name),
        SessionKind::Saved | SessionKind::Unspecified => format!("saved session “{}”", hit.session_name),
    }
}

/// The snippet with each highlighted span drawn bold on the selection
/// colour. Spans are byte ranges from the daemon: one that is out of
/// range, not on a character boundary, or overlapping the one before is
/// skipped rather than trusted.
pub fn snippet_job(snippet: &str, highlights: &[Span], font: FontId, text: Color32, mark: Color32) -> LayoutJob {
    let plain = TextFormat {
        font_id: font.clone(),
        color: text,
        ..TextFormat::default()
    };
    let strong = TextFormat {
        font_id: font,
        color: text,
        background: mark,
        underline: egui::Stroke::new(1.0, text),
        ..TextFormat::default()
    };
    let mut job = LayoutJob::default();
    let mut at = 0usize;
    let mut spans: Vec<(usize, usize)> = highlights.iter().map(|s| (s.start as usize, s.end as usize)).collect();
    spans.sort_unstable();
    for (start, end) in spans {
        if start < at || start >= end || snippet.get(start..end).is_none() {
            continue;
        }
        // `start` is a char boundary (checked above), so `at..start` is too.
        job.append(&snippet[at..start], 0.0, plain.clone());
        job.append(&snippet[start..end], 0.0, strong.clone());
        at = end;
    }
    job.append(&snippet[at..], 0.0, plain);
    job
}

impl App {
    /// Draws the search panel when it is open.
    pub(crate) fn search_window(&mut self, ctx: &egui::Context) {
        if !self.search.open {
            return;
        }
        let mut open = true;
        let mut chosen = None;
        egui::Window::new("Search")
            .id(egui::Id::unique("search_panel"))
            .open(&mut open)
            .collapsible(false)
            .resizable(true)
            .default_width(640.0)
            .anchor(egui::Align2::CENTER_TOP, egui::vec2(0.0, 48.0))
            .show(ctx, |ui| {
                self.search_field(ui);
                chosen = self.search_results(ui);
            });
        if !open {
            self.search.open = false;
        }
        if let Some(hit) = chosen {
            self.open_hit(hit);
        }
    }

    fn search_field(&mut self, ui: &mut Ui) {
        let mut run = false;
        ui.horizontal(|ui| {
            let field = ui.add(
                egui::TextEdit::singleline(&mut self.search.query)
                    .hint_text("Words, \"a phrase\", -word, role:, model:, file:, after:7d… — Enter searches")
                    .desired_width(420.0),
            );
            name_widget(ui, &field, "Search query");
            if std::mem::take(&mut self.search.focus) {
                field.request_focus();
            }
            if field.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter)) {
                run = true;
            }
            if field.lost_focus() && ui.input(|i| i.key_pressed(Key::Escape)) {
                self.search.open = false;
            }
            let button = ui.button(widgets::icon_text(format!("{} Search", icon::SEARCH)));
            name_widget(ui, &button, "Run search");
            if button.on_hover_text("Search every session of every project").clicked() {
                run = true;
            }
        });
        let trash = ui
            .checkbox(&mut self.search.include_trash, "Include the trash")
            .on_hover_text("Also search deleted, overwritten and rewound sessions");
        if trash.changed() && self.search.searched.is_some() {
            run = true;
        }
        ui.label(
            RichText::new("Every project's working and saved sessions. The query language is in docs/SEARCH.md.")
                .small()
                .weak(),
        );
        if run && let Some(request) = self.search.start() {
            self.send(request);
        }
    }

    /// Draws the hits; returns the one the user chose.
    fn search_results(&mut self, ui: &mut Ui) -> Option<SearchHit> {
        if let Some(message) = &self.search.refused {
            ui.separator();
            ui.horizontal_wrapped(|ui| {
                ui.label(widgets::icon_text(format!("{} {message}", icon::WARNING)).color(ui.visuals().error_fg_color));
            });
            return None;
        }
        if self.search.catching_up {
            ui.label(
                widgets::icon_text(format!(
                    "{} The search index is catching up with the sessions: results may be incomplete for a moment.",
                    icon::WARNING
                ))
                .small()
                .color(ui.visuals().warn_fg_color),
            );
        }
        let query = self.search.searched.clone()?;
        ui.separator();
        if self.search.hits.is_empty() {
            let text = if self.search.loading {
                "Searching…".to_owned()
            } else {
                format!("Nothing matches “{query}”.")
            };
            ui.label(RichText::new(text).weak());
            return None;
        }
        ui.label(
            RichText::new(format!(
                "{} for “{query}” — choose one to open it",
                widgets::count(self.search.total_hits, "hit")
            ))
            .small()
            .weak(),
        );
        let mut chosen = None;
        let mut more = false;
        let hits = std::mem::take(&mut self.search.hits);
        egui::ScrollArea::vertical()
            .id_salt("search_hits")
            .max_height(420.0)
            .auto_shrink([false, true])
            .show(ui, |ui| {
                for (index, hit) in hits.iter().enumerate() {
                    ui.push_id(("hit", index), |ui| {
                        if self.hit_row(ui, hit) {
                            chosen = Some(hit.clone());
                        }
                    });
                    ui.separator();
                }
            });
        // Below the list, not at its end, so it shows without scrolling.
        if !self.search.next_page_token.is_empty() {
            let label = if self.search.loading {
                "Loading…"
            } else {
                "More results"
            };
            more = ui
                .add_enabled(!self.search.loading, egui::Button::new(label))
                .on_hover_text("Read the next page of hits")
                .clicked();
        }
        self.search.hits = hits;
        if more && let Some(request) = self.search.more() {
            self.send(request);
        }
        chosen
    }

    /// One hit; true when chosen.
    fn hit_row(&self, ui: &mut Ui, hit: &SearchHit) -> bool {
        let title = session_title(hit);
        let mut chosen = false;
        ui.horizontal(|ui| {
            ui.label(RichText::new(&title).strong());
            let role = Role::try_from(hit.role).unwrap_or(Role::Unspecified);
            ui.label(
                RichText::new(widgets::role_title(role)).color(widgets::role_colour(role, ui.visuals().dark_mode)),
            );
            ui.label(RichText::new(format!("#{}", hit.message_id)).small().weak());
            ui.label(
                RichText::new(widgets::local_time(hit.created_at_ms, &self.tz))
                    .small()
                    .weak(),
            );
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                let open = ui.button("Open").on_hover_text("Open the session at this message");
                name_widget(ui, &open, &format!("Open {title} at #{}", hit.message_id));
                chosen = open.clicked();
            });
        });
        let project = if hit.project == self.project {
            format!("{} (this project)", crate::app::short_path(&hit.project))
        } else {
            crate::app::short_path(&hit.project)
        };
        ui.label(widgets::icon_text(format!("{} {project}", icon::FOLDER)).small().weak());
        let font = egui::TextStyle::Body.resolve(ui.style());
        let mark = ui.visuals().selection.bg_fill.gamma_multiply(0.6);
        let job = snippet_job(&hit.snippet, &hit.highlights, font, ui.visuals().text_color(), mark);
        let snippet = ui.add(egui::Label::new(job).wrap().sense(egui::Sense::click()));
        if snippet.on_hover_text("Click to open").clicked() {
            chosen = true;
        }
        chosen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(ranges: &[(u32, u32)]) -> Vec<Span> {
        ranges.iter().map(|&(start, end)| Span { start, end }).collect()
    }

    fn marked(job: &LayoutJob) -> Vec<&str> {
        job.sections
            .iter()
            .filter(|s| s.format.background != Color32::TRANSPARENT)
            .map(|s| &job.text[s.byte_range.start.0..s.byte_range.end.0])
            .collect()
    }

    fn job(snippet: &str, ranges: &[(u32, u32)]) -> LayoutJob {
        snippet_job(
            snippet,
            &spans(ranges),
            FontId::default(),
            Color32::BLACK,
            Color32::YELLOW,
        )
    }

    #[test]
    fn highlights_mark_their_bytes_and_keep_the_text_whole() {
        let text = "the login redirect loops";
        let job = job(text, &[(10, 18), (4, 9)]);
        assert_eq!(job.text, text);
        assert_eq!(marked(&job), vec!["login", "redirect"]);
    }

    #[test]
    fn spans_off_a_char_boundary_or_out_of_range_are_skipped() {
        // "é" is two bytes: 1..2 cuts it; 3..99 runs past the end.
        let text = "héllo wörld";
        let job = job(text, &[(1, 2), (0, 1), (7, 13), (3, 99), (8, 9)]);
        assert_eq!(job.text, text);
        assert_eq!(marked(&job), vec!["h", "wörld"]);
    }
}
