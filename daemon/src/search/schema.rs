//! The index's fields and how a message becomes a document. The text is
//! indexed twice, stemmed (English) and as written, so a word finds its
//! other forms while an exact match ranks higher. Only the text as written
//! keeps positions: phrases are matched on it, so the stemmed copy does not
//! pay for positions no query reads. Nothing is stored but
//! the ids and the time (snippets are cut from the message in redb).
//! Session kind and name are not indexed: they change on save, rename,
//! delete and restore without the messages changing, so search reads them
//! from the catalog at query time.

use chronicle_proto::v1::Message;
use tantivy::schema::{FAST, Field, INDEXED, IndexRecordOption, STRING, Schema, TextFieldIndexing, TextOptions};
use tantivy::{Index, TantivyDocument};

/// The index's format: an index of another format is rebuilt from redb.
/// 2: the stemmed field without positions, stemmed by [`super::stem`].
pub const FORMAT: u64 = 2;

pub const STEMMED_TOKENIZER: &str = "chronicle_en_stem";
pub const EXACT_TOKENIZER: &str = "default";

#[derive(Clone, Copy, Debug)]
pub struct Fields {
    /// `session:message`, the unique key an update replaces.
    pub key: Field,
    pub session: Field,
    pub message: Field,
    pub project: Field,
    /// Role name (`user`, `assistant`, ...).
    pub role: Field,
    /// Lowercased model name.
    pub model: Field,
    /// Lowercased tool name.
    pub tool: Field,
    /// Paths the message edited.
    pub edited: Field,
    pub created: Field,
    pub stemmed: Field,
    pub exact: Field,
}

pub fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = |tokenizer: &str, record: IndexRecordOption| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(tokenizer)
                .set_index_option(record),
        )
    };
    let fields = Fields {
        key: b.add_text_field("key", STRING),
        session: b.add_u64_field("session", INDEXED | FAST),
        message: b.add_u64_field("message", FAST),
        project: b.add_text_field("project", STRING),
        role: b.add_text_field("role", STRING),
        model: b.add_text_field("model", STRING),
        tool: b.add_text_field("tool", STRING),
        edited: b.add_text_field("edited", STRING),
        created: b.add_i64_field("created", INDEXED | FAST),
        stemmed: b.add_text_field("stemmed", text(STEMMED_TOKENIZER, IndexRecordOption::WithFreqs)),
        exact: b.add_text_field("exact", text(EXACT_TOKENIZER, IndexRecordOption::WithFreqsAndPositions)),
    };
    (b.build(), fields)
}

/// Registers the analysers the fields name; call on every index opened or
/// created before it is written or searched.
pub fn register_tokenizers(index: &Index) {
    index
        .tokenizers()
        .register(STEMMED_TOKENIZER, super::stem::index_analyzer());
}

pub fn key(session: u64, message: u64) -> String {
    format!("{session}:{message}")
}

/// Everything of a message that search reads: content, reasoning, the
/// command that ran, the tool's name, arguments and result — in this
/// order, one per line, so a snippet shows the part that matched.
pub fn searchable_text(message: &Message) -> String {
    let mut parts: Vec<&str> = vec![&message.content, &message.reasoning, &message.command];
    if let Some(tool) = &message.tool {
        parts.extend([tool.name.as_str(), tool.args_json.as_str(), tool.result_json.as_str()]);
    }
    let mut text = String::new();
    for part in parts.into_iter().filter(|p| !p.is_empty()) {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(part);
    }
    text
}

pub fn document(fields: &Fields, project: &str, session: u64, message: &Message) -> TantivyDocument {
    let mut doc = TantivyDocument::default();
    doc.add_text(fields.key, key(session, message.id));
    doc.add_u64(fields.session, session);
    doc.add_u64(fields.message, message.id);
    doc.add_text(fields.project, project);
    doc.add_text(
        fields.role,
        chronicle_client::text::role_name(chronicle_client::text::role(message.role)),
    );
    if !message.model.is_empty() {
        doc.add_text(fields.model, message.model.to_lowercase());
    }
    if let Some(tool) = message.tool.as_ref().filter(|t| !t.name.is_empty()) {
        doc.add_text(fields.tool, tool.name.to_lowercase());
    }
    for path in &message.edited_files {
        doc.add_text(fields.edited, path.trim_start_matches("./"));
    }
    doc.add_i64(fields.created, message.created_at_ms);
    let text = searchable_text(message);
    doc.add_text(fields.stemmed, &text);
    doc.add_text(fields.exact, &text);
    doc
}
