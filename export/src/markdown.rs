//! Markdown export: a readable document with a header, the context files,
//! and one `###` section per message.
//!
//! Message content is Markdown written by people and models, so it may
//! contain headings, unbalanced fences or raw HTML that would swallow the
//! rest of the document. Each message is therefore parsed before it is
//! written: its own headings are escaped into plain text, and if the
//! content still would not end cleanly before the next section heading, it
//! is written inside a fence longer than any backtick run it contains.
//! Either way every CommonMark parser sees exactly one `###` per message.

use std::io::Write;

use chronicle_client::text::role_heading;
use chronicle_proto::v1::{ContextFile, Message, Role, ToolCall, Usage};
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

use super::{ExportError, SessionHeader};

/// Writes the whole document. The header's `exported_at_ms` is the only
/// input that is not part of the session.
pub fn write<W, I, E>(
    out: &mut W,
    header: &SessionHeader,
    files: &[ContextFile],
    messages: I,
) -> Result<(), ExportError>
where
    W: Write,
    I: IntoIterator<Item = Result<Message, E>>,
    E: std::error::Error + Send + Sync + 'static,
{
    writeln!(out, "# {}\n", escape_inline(header.title()))?;
    writeln!(out, "- **Project:** {}", code_span(&header.project))?;
    writeln!(out, "- **Exported:** {}", header.time(header.exported_at_ms))?;
    writeln!(out, "- **Last updated:** {}", header.time(header.updated_at_ms))?;
    writeln!(
        out,
        "- **Messages:** {} · **Context files:** {}",
        header.message_count,
        files.len()
    )?;
    if let Some(usage) = header.total_usage.as_ref().and_then(usage_text) {
        writeln!(out, "- **Usage:** {usage}")?;
    }
    writeln!(out, "\n## Context files\n")?;
    if files.is_empty() {
        writeln!(out, "*No files in context.*")?;
    }
    for file in files {
        let flags = chronicle_client::text::file_flags(file);
        let flags = if flags.is_empty() {
            String::new()
        } else {
            format!(" *({})*", flags.join(", "))
        };
        writeln!(out, "- {}{flags}", code_span(&file.path))?;
    }
    writeln!(out, "\n## Messages\n")?;
    let mut any = false;
    for message in messages {
        let message = message.map_err(|err| ExportError::Source(Box::new(err)))?;
        write_message(out, header, &message)?;
        any = true;
    }
    if !any {
        writeln!(out, "*No messages.*")?;
    }
    Ok(())
}

fn write_message<W: Write>(out: &mut W, header: &SessionHeader, message: &Message) -> std::io::Result<()> {
    let role = Role::try_from(message.role).unwrap_or(Role::Unspecified);
    writeln!(
        out,
        "### {} · #{} · {}\n",
        role_heading(role),
        message.id,
        header.time(message.created_at_ms)
    )?;
    let mut meta = Vec::new();
    if !message.model.is_empty() {
        meta.push(format!("model {}", code_span(&message.model)));
    }
    if let Some(usage) = message.usage.as_ref().and_then(usage_text) {
        meta.push(usage);
    }
    if !message.log_level.is_empty() {
        meta.push(format!("level {}", code_span(&message.log_level)));
    }
    if !meta.is_empty() {
        writeln!(out, "*{}*\n", meta.join(" · "))?;
    }
    if !message.reasoning.is_empty() {
        writeln!(out, "**Reasoning:**\n")?;
        write_fenced(out, "text", &message.reasoning)?;
    }
    if role == Role::CommandOutput {
        if !message.command.is_empty() {
            writeln!(out, "**Command:** {}\n", code_span(&message.command))?;
        }
        write_fenced(out, "text", &message.content)?;
    } else if !message.content.is_empty() {
        write_content(out, &message.content)?;
    } else if message.tool.is_none() {
        writeln!(out, "*(empty)*\n")?;
    }
    if let Some(tool) = &message.tool {
        write_tool(out, tool)?;
    }
    if !message.edited_files.is_empty() {
        let files: Vec<String> = message.edited_files.iter().map(|f| code_span(f)).collect();
        writeln!(out, "**Edited files:** {}\n", files.join(", "))?;
    }
    if !message.metadata.is_empty() {
        let mut pairs: Vec<_> = message.metadata.iter().collect();
        pairs.sort();
        let pairs: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("{} = {}", code_span(k), code_span(v)))
            .collect();
        writeln!(out, "**Metadata:** {}\n", pairs.join(", "))?;
    }
    Ok(())
}

fn write_tool<W: Write>(out: &mut W, tool: &ToolCall) -> std::io::Result<()> {
    let mut line = format!(
        "**Tool call:** {}",
        code_span(if tool.name.is_empty() { "(unnamed)" } else { &tool.name })
    );
    if !tool.call_id.is_empty() {
        line.push_str(&format!(" (id {})", code_span(&tool.call_id)));
    }
    if tool.is_error {
        line.push_str(" — **failed**");
    }
    writeln!(out, "{line}\n")?;
    if !tool.args_json.is_empty() {
        writeln!(out, "Arguments:\n")?;
        write_fenced(out, "json", &pretty_json(&tool.args_json))?;
    }
    if !tool.result_json.is_empty() {
        writeln!(out, "Result:\n")?;
        write_fenced(out, "json", &pretty_json(&tool.result_json))?;
    }
    Ok(())
}

/// Indents valid JSON for reading; anything else is shown as it came.
fn pretty_json(raw: &str) -> String {
    serde_json::from_str::<serde_json::Value>(raw)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| raw.to_owned())
}

/// Writes message Markdown so that it cannot leak into the next section.
fn write_content<W: Write>(out: &mut W, content: &str) -> std::io::Result<()> {
    if ends_cleanly(content) {
        return writeln!(out, "{}\n", content.trim_end());
    }
    let escaped = escape_headings(content);
    if ends_cleanly(&escaped) {
        return writeln!(out, "{}\n", escaped.trim_end());
    }
    write_fenced(out, "markdown", content)
}

fn parser_options() -> [Options; 2] {
    let gfm = Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_GFM;
    [Options::empty(), gfm]
}

/// True when `content`, followed by a blank line and a `###` heading,
/// parses as blocks without headings plus exactly that heading at the top
/// level: nothing in it is open (fence, HTML block) at its end.
fn ends_cleanly(content: &str) -> bool {
    const SENTINEL: &str = "chronicle-section-sentinel";
    let probe = format!("{}\n\n### {SENTINEL}\n", content.trim_end());
    parser_options().into_iter().all(|options| {
        let mut depth = 0usize;
        let mut headings = 0;
        let mut in_heading = false;
        let mut heading_text = String::new();
        let mut top_level = true;
        for event in Parser::new_ext(&probe, options) {
            match event {
                Event::Start(Tag::Heading { .. }) => {
                    headings += 1;
                    top_level &= depth == 0;
                    in_heading = true;
                }
                Event::End(TagEnd::Heading(_)) => in_heading = false,
                Event::Start(_) => depth += 1,
                Event::End(_) => depth = depth.saturating_sub(1),
                Event::Text(text) if in_heading => heading_text.push_str(&text),
                _ => {}
            }
        }
        headings == 1 && top_level && heading_text == SENTINEL
    })
}

/// Turns every heading in `content` into literal text by escaping its
/// first marker (`#` of an ATX heading, the underline of a setext one).
fn escape_headings(content: &str) -> String {
    let mut at = Vec::new();
    for (event, range) in Parser::new_ext(content, parser_options()[1]).into_offset_iter() {
        if let Event::Start(Tag::Heading { .. }) = event {
            let source = &content[range.clone()];
            let lead = source.len() - source.trim_start_matches([' ', '\t']).len();
            if source[lead..].starts_with('#') {
                at.push(range.start + lead);
            } else {
                let body = source.trim_end_matches(['\n', '\r']);
                let line = body.rfind('\n').map_or(0, |i| i + 1);
                let underline = &body[line..];
                let lead = underline.len() - underline.trim_start_matches([' ', '\t']).len();
                at.push(range.start + line + lead);
            }
        }
    }
    let mut out = content.to_owned();
    at.sort_unstable();
    at.dedup();
    for offset in at.into_iter().rev() {
        if out.is_char_boundary(offset) {
            out.insert(offset, '\\');
        }
    }
    out
}

/// A fenced block whose backtick fence is longer than any run inside it.
fn write_fenced<W: Write>(out: &mut W, info: &str, body: &str) -> std::io::Result<()> {
    let fence = "`".repeat((longest_run(body, '`') + 1).max(3));
    writeln!(out, "{fence}{info}\n{}\n{fence}\n", body.trim_end_matches(['\n', '\r']))
}

fn longest_run(text: &str, ch: char) -> usize {
    let (mut best, mut run) = (0, 0);
    for c in text.chars() {
        if c == ch {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}

/// Inline code that survives any backticks inside it.
fn code_span(text: &str) -> String {
    let text = text.replace(['\n', '\r'], " ");
    let fence = "`".repeat(longest_run(&text, '`') + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// Plain text with Markdown's punctuation escaped, for titles.
fn escape_inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if r"\`*_{}[]<>()#+-.!|~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn usage_text(usage: &Usage) -> Option<String> {
    let mut parts = Vec::new();
    if usage.sent_tokens > 0 || usage.received_tokens > 0 {
        parts.push(format!(
            "{} tokens sent, {} received",
            usage.sent_tokens, usage.received_tokens
        ));
    }
    if usage.cache_read_tokens > 0 || usage.cache_write_tokens > 0 {
        parts.push(format!(
            "cache {} read, {} written",
            usage.cache_read_tokens, usage.cache_write_tokens
        ));
    }
    if usage.cost > 0.0 {
        parts.push(format!("${:.4}", usage.cost));
    }
    if parts.is_empty() {
        None
    } else {
        Some(parts.join(" · "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(contents: &[&str]) -> String {
        let messages: Vec<Result<Message, std::io::Error>> = contents
            .iter()
            .enumerate()
            .map(|(i, c)| {
                Ok(Message {
                    id: i as u64 + 1,
                    role: Role::Assistant as i32,
                    content: (*c).to_owned(),
                    ..Message::default()
                })
            })
            .collect();
        let header = SessionHeader {
            project: "/p".into(),
            name: "s".into(),
            message_count: contents.len() as u64,
            ..SessionHeader::default()
        };
        let mut out = Vec::new();
        write(&mut out, &header, &[], messages).expect("render");
        String::from_utf8(out).expect("utf-8")
    }

    fn h3_count(doc: &str) -> usize {
        Parser::new(doc)
            .filter(|e| {
                matches!(
                    e,
                    Event::Start(Tag::Heading {
                        level: pulldown_cmark::HeadingLevel::H3,
                        ..
                    })
                )
            })
            .count()
    }

    #[test]
    fn hostile_content_stays_inside_its_section() {
        let hostile = [
            "```rust\nfn open() {\n// never closed",
            "### not a section\n\nsome text",
            "Title\n=====\n\nSub\n---",
            "> ### quoted heading",
            "- item\n\n  ## nested heading",
            "<!-- never closed comment",
            "<pre>\nnever closed",
            "~~~~\nunclosed tilde fence",
            "    indented code\n### after",
            "plain *text* with `code`",
        ];
        let doc = render(&hostile);
        assert_eq!(h3_count(&doc), hostile.len(), "{doc}");
    }

    #[test]
    fn headings_in_content_become_text_not_code() {
        let doc = render(&["## Summary\n\nAll good."]);
        assert!(doc.contains("\\## Summary"), "{doc}");
        assert!(!doc.contains("```markdown"), "{doc}");
    }

    #[test]
    fn code_spans_outgrow_their_backticks() {
        assert_eq!(code_span("a`b"), "``a`b``");
        assert_eq!(code_span("`x`"), "`` `x` ``");
    }
}
