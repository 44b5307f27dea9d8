//! Task lists with one marker per item. egui_commonmark draws a list
//! item's bullet before it learns the item is a task, so `- [ ] write
//! tests` shows a bullet *and* a checkbox. Before a message is rendered,
//! every top-level list whose items are all simple tasks (one paragraph,
//! no nested blocks) is rewritten as lines that start with a box glyph —
//! ☐ open, ☑ done — joined by hard breaks; anything else is left as the
//! author wrote it.

use std::borrow::Cow;
use std::ops::Range;

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

const OPEN: &str = "☐";
const DONE: &str = "☑";

/// One task item: whether it is done and where its text is.
struct Task {
    done: bool,
    text: Range<usize>,
}

/// A top-level list being read: its source range and its tasks, or
/// `None` once something in it is not a simple task.
struct List {
    start: usize,
    tasks: Option<Vec<Task>>,
}

/// `content` with its simple task lists rewritten; borrowed when there
/// are none.
pub fn single_markers(content: &str) -> Cow<'_, str> {
    if !content.contains("[ ]") && !content.contains("[x]") && !content.contains("[X]") {
        return Cow::Borrowed(content);
    }
    let mut rewrites: Vec<(Range<usize>, String)> = Vec::new();
    let mut depth = 0usize;
    let mut list: Option<List> = None;
    let mut item: Option<(Option<bool>, usize, usize)> = None; // (done, text start, blocks inside)
    for (event, range) in Parser::new_ext(content, Options::ENABLE_TASKLISTS).into_offset_iter() {
        match event {
            Event::Start(Tag::List(None)) if depth == 0 => {
                list = Some(List {
                    start: range.start,
                    tasks: Some(Vec::new()),
                });
                depth += 1;
            }
            Event::Start(Tag::Item) if depth == 1 => {
                item = Some((None, range.start, 0));
                depth += 1;
            }
            Event::TaskListMarker(done) => {
                if let Some((marker @ None, start, _)) = item.as_mut() {
                    *marker = Some(done);
                    *start = range.end;
                }
            }
            Event::Start(Tag::Paragraph) if depth == 2 => {
                if let Some((_, _, blocks)) = item.as_mut() {
                    *blocks += 1;
                }
                depth += 1;
            }
            Event::End(TagEnd::Item) if depth == 2 => {
                depth -= 1;
                let finished = item.take();
                if let Some(current) = list.as_mut() {
                    current.tasks = match (current.tasks.take(), finished) {
                        (Some(mut tasks), Some((Some(done), start, blocks))) if blocks <= 1 => {
                            tasks.push(Task {
                                done,
                                text: start..range.end,
                            });
                            Some(tasks)
                        }
                        _ => None,
                    };
                }
            }
            Event::End(TagEnd::List(false)) if depth == 1 => {
                depth -= 1;
                if let Some(List {
                    start,
                    tasks: Some(tasks),
                }) = list.take()
                    && !tasks.is_empty()
                {
                    rewrites.push((start..range.end, lines(content, &tasks)));
                }
            }
            Event::Start(tag) => {
                // A nested block inside an item makes the list not simple.
                if depth >= 2
                    && !inline(&tag)
                    && let Some(current) = list.as_mut()
                {
                    current.tasks = None;
                }
                depth += 1;
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    if rewrites.is_empty() {
        return Cow::Borrowed(content);
    }
    let mut out = String::with_capacity(content.len());
    let mut at = 0;
    for (range, text) in rewrites {
        out.push_str(&content[at..range.start]);
        out.push_str(&text);
        at = range.end;
    }
    out.push_str(&content[at..]);
    Cow::Owned(out)
}

/// Whether a tag marks up text within a line rather than starting a block.
fn inline(tag: &Tag<'_>) -> bool {
    matches!(
        tag,
        Tag::Emphasis
            | Tag::Strong
            | Tag::Strikethrough
            | Tag::Superscript
            | Tag::Subscript
            | Tag::Link { .. }
            | Tag::Image { .. }
    )
}

/// The tasks as one paragraph of lines, each ending in a hard break.
fn lines(content: &str, tasks: &[Task]) -> String {
    let mut out = String::new();
    for (i, task) in tasks.iter().enumerate() {
        if i > 0 {
            out.push_str("\\\n");
        }
        let text = content[task.text.clone()]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        out.push_str(if task.done { DONE } else { OPEN });
        out.push(' ');
        out.push_str(&text);
    }
    // A blank line ends the paragraph, as the list's end did.
    out.push_str("\n\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_list_becomes_lines_with_one_box_each() {
        let doc = "Plan:\n\n- [ ] write tests\n- [x] fix **login**\n\nDone.";
        assert_eq!(
            single_markers(doc),
            "Plan:\n\n☐ write tests\\\n☑ fix **login**\n\nDone."
        );
    }

    #[test]
    fn a_loose_task_list_is_rewritten_too() {
        assert_eq!(single_markers("- [ ] one\n\n- [X] two\n"), "☐ one\\\n☑ two\n\n");
    }

    #[test]
    fn other_lists_and_text_are_left_alone() {
        for doc in [
            "- plain\n- list",
            "- [ ] task\n- not a task",
            "- [ ] task\n  - nested\n",
            "1. [ ] numbered task",
            "no lists [ ] here",
            "> - [ ] quoted task",
            "- [ ] two\n\n  paragraphs in one item",
        ] {
            assert_eq!(single_markers(doc), doc, "{doc:?}");
        }
    }
}
