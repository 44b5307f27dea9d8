//! One transcript's tree turned into sessions: [`Build::plan`] chooses
//! them from the tree's shape alone (the path to the newest leaf, the
//! abandoned branches, the sidechains, their links and titles), and
//! [`Build::emit`] makes each one's messages from the nodes' entries,
//! merging the lines of one API response and giving each tool call its
//! result, and hands them out in parts that end only where none of their
//! messages can still change.

use chronicle_proto::v1::{Message, Role, ToolCall};
use std::collections::{HashMap, HashSet};

use super::{Entry, Node, Parent, Parser, Shape, ToolResult, push_para};
use crate::sources::{Agent, LinkKind, SourceLink, SourceSession, cut, meta};

/// One session a file's tree turns into, before its messages are made.
pub(super) struct Plan {
    source_id: String,
    session_id: String,
    parent: Option<SourceLink>,
    /// Its nodes in conversation order.
    path: Vec<usize>,
    title: Option<String>,
    /// None of its nodes shows as a message: it is not imported.
    empty: bool,
}

impl Plan {
    pub(super) fn source_id(&self) -> &str {
        &self.source_id
    }
}

/// The first `len` nodes of a session's path, from `first` to `last`.
#[derive(Clone, Copy)]
pub(super) struct Settled {
    first: usize,
    last: usize,
    pub len: usize,
}

/// What [`Build::emit`] did.
pub(super) struct Emitted {
    /// `part` asked for no more.
    pub stopped: bool,
    /// The start of the path whose nodes made messages no later line can
    /// change as the path stands: every reply has all the lines it has so
    /// far and every call its result. Never shorter than it skipped.
    pub settled: Option<Settled>,
}

/// Turns the tree of one file into sessions: [`Build::plan`] chooses them
/// from the tree's shape, [`Build::emit`] makes each one's messages.
pub(super) struct Build<'a> {
    parser: &'a Parser,
    parents: Vec<Option<usize>>,
    /// Whether a node has a child of the main conversation, of a sidechain.
    has_child: Vec<[bool; 2]>,
}

/// Chooses the sessions: which nodes each takes and how it is linked.
struct Planner<'b, 'a> {
    build: &'b Build<'a>,
    /// The plan (index into `plans`) each node went into.
    owner: Vec<Option<usize>>,
    plans: Vec<Plan>,
}

impl<'a> Build<'a> {
    pub(super) fn new(parser: &'a Parser) -> Self {
        let parents: Vec<Option<usize>> = parser
            .nodes
            .iter()
            .map(|node| match &node.parent {
                Parent::None => None,
                Parent::Read(i) => Some(*i as usize),
                Parent::Later(k) => parser.find(&parser.later[*k as usize]),
            })
            .collect();
        let mut has_child = vec![[false; 2]; parser.nodes.len()];
        for (i, p) in parents.iter().enumerate() {
            if let Some(p) = p {
                has_child[*p][usize::from(parser.nodes[i].sidechain)] = true;
            }
        }
        Build {
            parser,
            parents,
            has_child,
        }
    }

    fn parent(&self, i: usize) -> Option<usize> {
        self.parents[i]
    }

    /// Leaves of the main conversation's nodes or of the sidechains',
    /// newest (written last) first.
    fn leaves(&self, sidechain: bool) -> Vec<usize> {
        let mut leaves: Vec<usize> = (0..self.parser.nodes.len())
            .filter(|&i| self.parser.nodes[i].sidechain == sidechain)
            .filter(|&i| !self.has_child[i][usize::from(sidechain)])
            .collect();
        leaves.sort_by_key(|&i| std::cmp::Reverse(self.parser.nodes[i].line));
        leaves
    }

    /// The sessions of the file, in the order they are made: the main
    /// conversation, its abandoned branches, then the sidechains.
    pub(super) fn plan(&self) -> Vec<Plan> {
        let nodes = &self.parser.nodes;
        let Some(session_id) = nodes.iter().find_map(|n| n.context.session_id.as_deref()) else {
            return Vec::new();
        };
        let session_id = session_id.to_owned();
        let mut planner = Planner {
            build: self,
            owner: vec![None; nodes.len()],
            plans: Vec::new(),
        };

        // The main conversation and its abandoned branches.
        let mut main_leaves = self.leaves(false);
        let mut looped = nodes.len();
        let mut k = 0;
        loop {
            if k == main_leaves.len() {
                // Lines whose parents loop (a damaged file) have no leaf:
                // the newest of them stands for one, until every line is
                // in a session.
                let unowned = (0..looped)
                    .rev()
                    .find(|&i| !nodes[i].sidechain && planner.owner[i].is_none());
                let Some(i) = unowned else { break };
                looped = i;
                main_leaves.push(i);
            }
            let leaf = main_leaves[k];
            k += 1;
            let (path, fork) = planner.path(leaf);
            if k == 1 {
                planner.claim(path, session_id.clone(), session_id.clone(), None);
            } else if let Some(start) = path.first() {
                let id = format!("{session_id}/branch/{}", nodes[*start].uuid);
                let link = fork.and_then(|f| {
                    let parent = &planner.plans[planner.owner[f]?];
                    if parent.empty {
                        return None;
                    }
                    Some(SourceLink {
                        kind: LinkKind::Branch,
                        parent_source_id: parent.source_id.clone(),
                        at_message: nodes[f].message_id(),
                    })
                });
                let link = link.or(Some(SourceLink {
                    kind: LinkKind::Branch,
                    parent_source_id: session_id.clone(),
                    at_message: None,
                }));
                planner.claim(path, id, session_id.clone(), link);
            }
        }

        // Sidechains: one session per agent (or per root), its newest path.
        let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
        for (i, n) in nodes.iter().enumerate().filter(|(_, n)| n.sidechain) {
            let key = match &n.context.agent_id {
                Some(a) => format!("agent-{a}"),
                None => {
                    let mut root = i;
                    let mut hops = 0;
                    while let Some(p) = self.parent(root).filter(|&p| nodes[p].sidechain) {
                        root = p;
                        hops += 1;
                        if hops > nodes.len() {
                            break;
                        }
                    }
                    format!("sidechain/{}", nodes[root].uuid)
                }
            };
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, members)) => members.push(i),
                None => groups.push((key, vec![i])),
            }
        }
        let side_leaves = self.leaves(true);
        for (key, members) in groups {
            let member_set: HashSet<usize> = members.iter().copied().collect();
            let leaf = side_leaves.iter().copied().find(|l| member_set.contains(l));
            let Some(leaf) = leaf else { continue };
            let (path, _) = planner.path(leaf);
            let path: Vec<usize> = path.into_iter().filter(|i| member_set.contains(i)).collect();
            let link = SourceLink {
                kind: LinkKind::Subagent,
                parent_source_id: session_id.clone(),
                at_message: None,
            };
            planner.claim(path, format!("{session_id}/{key}"), session_id.clone(), Some(link));
        }

        // Titles: a summary names the session holding its leaf; a custom
        // title names the file's own session.
        let Planner { owner, mut plans, .. } = planner;
        for (leaf, title) in self.parser.titles.iter().rev() {
            if let Some(s) = self.parser.find(leaf).and_then(|i| owner[i]) {
                plans[s].title.get_or_insert_with(|| title.clone());
            }
        }
        if let Some(title) = &self.parser.custom_title
            && let Some(plan) = plans.iter_mut().find(|p| p.source_id == session_id && !p.empty)
        {
            plan.title = Some(title.clone());
        }
        plans.retain(|p| !p.empty);
        plans
    }

    /// Makes the messages of one planned session, handing them to `part`
    /// in parts of at least `part_bytes`. A part ends only where none of
    /// its messages can change: every reply has all its lines and every
    /// tool call the result the path holds for it. The first `skip` nodes
    /// of its path make no messages (they were handed out before, and
    /// [`Build::still_settled`] says they are as they were).
    pub(super) fn emit(
        &self,
        plan: Plan,
        entries: &mut dyn FnMut(usize) -> Entry,
        skip: usize,
        part_bytes: usize,
        part: &mut dyn FnMut(SourceSession) -> bool,
    ) -> Emitted {
        let nodes = &self.parser.nodes;
        let Plan {
            source_id,
            session_id,
            parent,
            path,
            title,
            ..
        } = plan;
        let mut head = SourceSession::new(Agent::Claude, &source_id);
        head.source_session_id = session_id;
        head.parent = parent;
        head.title = title;
        head.cwd = path.iter().find_map(|&i| nodes[i].context.cwd.clone());
        head.git_branch = path.iter().rev().find_map(|&i| nodes[i].context.git_branch.clone());
        head.agent_version = path.iter().rev().find_map(|&i| nodes[i].context.version.clone());
        head.started_at_ms = path.iter().map(|&i| nodes[i].timestamp_ms).find(|&t| t > 0);

        // Where on the path each reply gets its last line and each call
        // its result: a part ends only after them. Nothing skipped has a
        // line or a result after it (`still_settled`), so only the rest
        // of the path is looked at.
        let skip = skip.min(path.len());
        let mut reply_end: HashMap<&str, usize> = HashMap::new();
        let mut result_at: HashMap<&str, usize> = HashMap::new();
        for (at, &i) in path.iter().enumerate().skip(skip) {
            match &nodes[i].shape {
                Shape::Reply(Some(id)) => {
                    reply_end.insert(id, at);
                }
                Shape::Answers { calls, .. } => {
                    for call in calls {
                        result_at.insert(call, at);
                    }
                }
                _ => {}
            }
        }

        let mut out = Output {
            head: &head,
            max: self.parser.options.max_inline_bytes,
            nodes,
            pending: Vec::new(),
            reply_at: HashMap::new(),
            results: HashMap::new(),
            bytes: 0,
            settles_at: 0,
            unanswered: false,
        };
        let mut settled = skip;
        for (at, &i) in path.iter().enumerate().skip(settled) {
            let mut entry = entries(i);
            out.bytes += entry.bytes();
            if let Entry::User(u) = &mut entry {
                for r in std::mem::take(&mut u.results) {
                    out.results.insert(r.tool_use_id.clone(), r);
                }
            }
            out.add(i, entry, &reply_end, &result_at);
            // A reply's next line, when it has one, is usually the very
            // next line written: a reply at the end settles once any other
            // line follows it.
            let last_is_reply = matches!(nodes[i].shape, Shape::Reply(_));
            if out.settles_at <= at && !out.unanswered && !last_is_reply {
                settled = at + 1;
            }
            if out.bytes >= part_bytes && out.settles_at <= at && !part(out.take()) {
                return Emitted {
                    stopped: true,
                    settled: None,
                };
            }
        }
        let rest = out.take();
        let stopped = !rest.messages.is_empty() && !part(rest);
        let settled = (settled > 0).then(|| Settled {
            first: path[0],
            last: path[settled - 1],
            len: settled,
        });
        Emitted { stopped, settled }
    }

    /// Whether `settled` is still the start of `plan`'s path and its nodes
    /// still make the messages they made:
    /// no later node on the path is another line of one of their replies
    /// or a result for one of their calls. (Their calls all had a result
    /// among them when they settled; a second one is looked for in the
    /// texts the parser kept, which is all of them unless it rereads.)
    pub(super) fn still_settled(&self, plan: &Plan, settled: &Settled) -> bool {
        let Settled { first, last, len } = *settled;
        let path = &plan.path;
        if len == 0 || path.len() < len || path[0] != first || path[len - 1] != last {
            return false;
        }
        let nodes = &self.parser.nodes;
        let mut later_replies = HashSet::new();
        let mut later_results = HashSet::new();
        for &i in &path[len..] {
            match &nodes[i].shape {
                Shape::Reply(Some(id)) => {
                    later_replies.insert(&**id);
                }
                Shape::Answers { calls, .. } => later_results.extend(calls.iter().map(|c| &**c)),
                _ => {}
            }
        }
        if later_replies.is_empty() && later_results.is_empty() {
            return true;
        }
        path[..len].iter().all(|&i| {
            let replied = matches!(&nodes[i].shape, Shape::Reply(Some(id)) if later_replies.contains(&**id));
            let called = match &nodes[i].entry {
                Entry::Assistant(a) => a.tools.iter().any(|t| later_results.contains(t.id.as_str())),
                _ => false,
            };
            !replied && !called
        })
    }
}

impl Planner<'_, '_> {
    /// From `leaf` up to (not including) the first node already in a
    /// session, in conversation order, and that node.
    fn path(&self, leaf: usize) -> (Vec<usize>, Option<usize>) {
        // Parents form a chain, but a damaged file may loop: a walk longer
        // than the tree has nodes is one, walked again stopping where it
        // comes back (the common case pays no set of visited nodes).
        let nodes = self.build.parser.nodes.len();
        let mut seen: Option<HashSet<usize>> = None;
        'walk: loop {
            let mut path = Vec::new();
            let mut at = Some(leaf);
            while let Some(i) = at {
                if self.owner[i].is_some() {
                    path.reverse();
                    return (path, Some(i));
                }
                if seen.is_none() && path.len() > nodes {
                    seen = Some(HashSet::new());
                    continue 'walk;
                }
                if seen.as_mut().is_some_and(|seen| !seen.insert(i)) {
                    break;
                }
                path.push(i);
                at = self.build.parent(i);
            }
            path.reverse();
            return (path, None);
        }
    }

    /// Plans one session of the nodes of `path` (in order).
    fn claim(&mut self, path: Vec<usize>, source_id: String, session_id: String, parent: Option<SourceLink>) {
        let index = self.plans.len();
        let nodes = &self.build.parser.nodes;
        let mut empty = true;
        for &i in &path {
            self.owner[i] = Some(index);
            if nodes[i].message_id().is_some() {
                empty = false;
            }
        }
        // Nodes of an empty plan stay claimed so no other branch stops at them.
        self.plans.push(Plan {
            source_id,
            session_id,
            parent,
            path,
            title: None,
            empty,
        });
    }
}
/// A planned session's messages as they are made, until a part is
/// handed out.
struct Output<'h> {
    head: &'h SourceSession,
    max: usize,
    nodes: &'h [Node],
    pending: Vec<Out>,
    /// Where in `pending` each reply (by API message id) is.
    reply_at: HashMap<String, usize>,
    /// Tool results by the call they answer, so each call's message holds
    /// its result.
    results: HashMap<String, ToolResult>,
    /// About how many bytes `pending` holds.
    bytes: usize,
    /// The path position after which nothing in `pending` changes.
    settles_at: usize,
    /// A call made so far has no result on the path yet: a later line may
    /// bring one, so nothing from there on is settled.
    unanswered: bool,
}

enum Out {
    Plain(Message),
    Reply {
        message: Message,
        tools: Vec<(String, String, String)>,
        last_node: usize,
    },
}

impl Output<'_> {
    /// Adds node `i`'s entry, at position `at` of the path.
    fn add(&mut self, i: usize, entry: Entry, reply_end: &HashMap<&str, usize>, result_at: &HashMap<&str, usize>) {
        let node = &self.nodes[i];
        let base = |role: Role, id: &str| {
            let mut m = Message {
                role: role as i32,
                created_at_ms: node.timestamp_ms,
                ..Message::default()
            };
            m.metadata.insert(meta::ID.into(), id.to_owned());
            m.metadata.insert(meta::UUID.into(), node.uuid.to_string());
            m
        };
        match entry {
            Entry::Silent | Entry::Dropped => {}
            Entry::Log(log) => {
                if log.text.is_empty() {
                    return;
                }
                let mut m = base(Role::Log, &node.uuid);
                m.content = log.text;
                m.log_level = log.level.to_owned();
                self.pending.push(Out::Plain(m));
            }
            Entry::User(u) => {
                let u = *u;
                if u.text.is_empty() {
                    return;
                }
                let role = if u.kind.is_some() { Role::System } else { Role::User };
                let mut m = base(role, &node.uuid);
                m.content = u.text;
                if let Some(kind) = u.kind {
                    m.metadata.insert(meta::KIND.into(), kind.into());
                }
                self.pending.push(Out::Plain(m));
            }
            Entry::Assistant(a) => {
                let a = *a;
                // Lines of one API response merge into the message of
                // their first line, even when other lines sit between them.
                let existing = a.message_id.as_deref().and_then(|id| self.reply_at.get(id).copied());
                let index = match existing {
                    Some(index) => index,
                    None => {
                        let id = a.message_id.clone().unwrap_or_else(|| node.uuid.to_string());
                        let mut m = base(Role::Assistant, &id);
                        m.model = a.model.clone();
                        if let Some(mid) = &a.message_id {
                            self.reply_at.insert(mid.clone(), self.pending.len());
                        }
                        self.pending.push(Out::Reply {
                            message: m,
                            tools: Vec::new(),
                            last_node: i,
                        });
                        self.pending.len() - 1
                    }
                };
                if let Some(&end) = a.message_id.as_deref().and_then(|id| reply_end.get(id)) {
                    self.settles_at = self.settles_at.max(end);
                }
                for t in &a.tools {
                    match result_at.get(t.id.as_str()) {
                        Some(&answered) => self.settles_at = self.settles_at.max(answered),
                        None => self.unanswered = true,
                    }
                }
                if let Out::Reply {
                    message,
                    tools,
                    last_node,
                } = &mut self.pending[index]
                {
                    push_para(&mut message.content, a.text);
                    push_para(&mut message.reasoning, a.thinking);
                    if a.usage.is_some() {
                        message.usage = a.usage;
                    }
                    if message.model.is_empty() {
                        message.model = a.model;
                    }
                    *last_node = i;
                    message.metadata.insert(meta::UUID.into(), node.uuid.to_string());
                    for t in a.tools {
                        tools.push((t.id, t.name, t.input));
                    }
                }
            }
        }
    }

    /// The pending messages as a part of the session.
    fn take(&mut self) -> SourceSession {
        let mut session = self.head.clone();
        self.reply_at.clear();
        self.bytes = 0;
        for o in std::mem::take(&mut self.pending) {
            match o {
                Out::Plain(m) => session.messages.push(m),
                Out::Reply {
                    mut message,
                    tools,
                    last_node,
                } => {
                    let kept = cut(&message.content, self.max).len();
                    message.content.truncate(kept);
                    let has_reply = !message.content.is_empty() || !message.reasoning.is_empty();
                    let model = message.model.clone();
                    let time = self.nodes[last_node].timestamp_ms;
                    // A reply that is only tool calls shows as those calls;
                    // its usage goes on the first.
                    let mut usage = None;
                    if has_reply || tools.is_empty() {
                        session.messages.push(message);
                    } else {
                        usage = message.usage;
                    }
                    for (call_id, name, input) in tools {
                        let result = self.results.remove(call_id.as_str());
                        let mut m = Message {
                            role: Role::Tool as i32,
                            created_at_ms: time,
                            model: model.clone(),
                            tool: Some(ToolCall {
                                name,
                                call_id: call_id.clone(),
                                args_json: input,
                                is_error: result.as_ref().is_some_and(|r| r.is_error),
                                result_json: result.map(|r| r.text).unwrap_or_default(),
                            }),
                            usage: usage.take(),
                            ..Message::default()
                        };
                        m.metadata.insert(meta::ID.into(), call_id);
                        session.messages.push(m);
                    }
                }
            }
        }
        for m in &mut session.messages {
            m.metadata.insert(meta::AGENT.into(), Agent::Claude.as_str().into());
            m.metadata
                .insert(meta::SESSION.into(), session.source_session_id.clone());
            if let Some(b) = &session.git_branch {
                m.metadata.insert(meta::GIT_BRANCH.into(), b.clone());
            }
            if let Some(v) = &session.agent_version {
                m.metadata.insert(meta::AGENT_VERSION.into(), v.clone());
            }
        }
        session
    }
}
