//! One search: the parsed query becomes a tantivy query (words on the
//! stemmed and the exact text, phrases on the exact text, filters on the
//! keyword fields, and session-level filters — project fragment, session
//! name, context file, trash — resolved to session ids through the
//! catalog), ranked by BM25 then by recency (ties: the newer session first),
//! paged by offset; each hit's snippet is cut from the message as redb
//! holds it.

use std::{
    collections::{BTreeMap, HashSet},
    ops::Bound,
    sync::atomic::Ordering,
};

use chronicle_proto::v1::{SearchHit, SessionKind as WireKind, Span};
use tantivy::{
    DocAddress, Order, Score, Searcher, Term,
    collector::{
        Count, DocSetCollector, TopDocs,
        sort_key::{SortBySimilarityScore, SortByStaticFastValue},
    },
    query::{
        AllQuery, BooleanQuery, BoostQuery, EmptyQuery, Occur, PhraseQuery, Query, RangeQuery, TermQuery, TermSetQuery,
    },
    schema::{Field, IndexRecordOption},
    snippet::SnippetGenerator,
};

use super::query::{self, ParsedQuery, Pattern};
use super::schema::{self, Fields};
use super::{IndexError, Shared, stem};
use crate::store::Store;
use crate::store::catalog::{Catalog, SessionKind};

/// Hits per page when the request says 0.
pub const DEFAULT_LIMIT: usize = 20;
/// Most hits one page may hold.
pub const MAX_LIMIT: usize = 200;
/// Characters of message text around the match.
const SNIPPET_CHARS: usize = 200;
/// An exact match counts this much more than a stemmed one.
const EXACT_BOOST: Score = 1.5;

/// One search request, checked by the handler.
#[derive(Debug)]
pub struct SearchParams<'a> {
    pub query: &'a str,
    /// Only this project (normalised path); `None` = every project.
    pub project: Option<&'a str>,
    pub include_trash: bool,
    pub limit: u32,
    pub page_token: &'a str,
}

/// One page of hits.
#[derive(Debug, Default)]
pub struct SearchPage {
    pub hits: Vec<SearchHit>,
    pub next_page_token: String,
    pub total_hits: u64,
    pub catching_up: bool,
}

pub(super) fn search(store: &Store, shared: &Shared, params: &SearchParams<'_>) -> Result<SearchPage, IndexError> {
    let parsed = query::parse(params.query, chronicle_client::time::now_ms())?;
    let offset: usize = match params.page_token {
        "" => 0,
        token => token.parse().map_err(|_| IndexError::PageToken(token.to_owned()))?,
    };
    let limit = match params.limit {
        0 => DEFAULT_LIMIT,
        n => (n as usize).min(MAX_LIMIT),
    };
    let catching_up = shared.catching_up.load(Ordering::SeqCst);
    let Some((index, reader)) = shared.index.read().unwrap_or_else(|e| e.into_inner()).clone() else {
        return Ok(SearchPage {
            catching_up: true,
            ..SearchPage::default()
        });
    };
    let catalog = shared.catalog.read().unwrap_or_else(|e| e.into_inner()).clone();
    let searcher = reader.searcher();
    let fields = shared.fields;
    let builder = Builder {
        index: &index,
        fields: &fields,
    };
    let Some(query) = builder.query(&parsed, &catalog, params, &searcher)? else {
        return Ok(SearchPage {
            catching_up,
            ..SearchPage::default()
        });
    };
    // Hits equal in score and time (the same message in the working
    // session and a saved copy) go newest session first, then by message,
    // so the order never depends on which segment holds them and a page
    // neither repeats nor skips a hit of the one before.
    let top = TopDocs::with_limit(limit).and_offset(offset).order_by((
        SortBySimilarityScore,
        (SortByStaticFastValue::<i64>::for_field("created"), Order::Desc),
        (SortByStaticFastValue::<u64>::for_field("session"), Order::Desc),
        (SortByStaticFastValue::<u64>::for_field("message"), Order::Desc),
    ));
    let (top, total) = searcher.search(query.as_ref(), &(top, Count))?;
    let snippets = builder.snippets(&searcher, &parsed)?;
    let mut hits = Vec::with_capacity(top.len());
    for ((score, _, _, _), address) in top {
        if let Some(hit) = hit(store, &searcher, &catalog, snippets.as_ref(), address, score)? {
            hits.push(hit);
        }
    }
    let next = offset + limit;
    Ok(SearchPage {
        hits,
        next_page_token: if next < total { next.to_string() } else { String::new() },
        total_hits: total as u64,
        catching_up,
    })
}

struct Builder<'a> {
    index: &'a tantivy::Index,
    fields: &'a Fields,
}

impl Builder<'_> {
    /// The tantivy query, or `None` when a filter can match nothing (an
    /// unknown project fragment or session name).
    fn query(
        &self,
        q: &ParsedQuery,
        catalog: &Catalog,
        params: &SearchParams<'_>,
        searcher: &Searcher,
    ) -> Result<Option<Box<dyn Query>>, IndexError> {
        let f = self.fields;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for word in &q.words {
            let clause: Box<dyn Query> = match (stems(f, word).as_slice(), self.tokens(f.exact, word)?.as_slice()) {
                ([stem], [exact]) => {
                    let mut either: Vec<(Occur, Box<dyn Query>)> = vec![(
                        Occur::Should,
                        Box::new(BoostQuery::new(Box::new(term_query(exact.clone())), EXACT_BOOST)),
                    )];
                    either.extend(stem_queries(f, stem, exact).map(|q| (Occur::Should, Box::new(q) as Box<dyn Query>)));
                    Box::new(BooleanQuery::new(either))
                }
                // A word the tokenizer cuts in pieces (`src/login.rs`,
                // `snake_case`) is found as written: its pieces in order,
                // which only the exact text has positions for.
                _ => self.exact(word)?,
            };
            clauses.push((Occur::Must, clause));
        }
        for phrase in &q.phrases {
            clauses.push((Occur::Must, self.exact(phrase)?));
        }
        for word in &q.excluded_words {
            match (stems(f, word).as_slice(), self.tokens(f.exact, word)?.as_slice()) {
                ([stem], [exact]) => {
                    clauses.push((Occur::MustNot, Box::new(term_query(exact.clone()))));
                    for q in stem_queries(f, stem, exact) {
                        clauses.push((Occur::MustNot, Box::new(q)));
                    }
                }
                _ => clauses.push((Occur::MustNot, self.matching_keys(searcher, word)?)),
            }
        }
        for phrase in &q.excluded_phrases {
            clauses.push((Occur::MustNot, self.matching_keys(searcher, phrase)?));
        }
        if !q.roles.is_empty() {
            let terms = q
                .roles
                .iter()
                .map(|r| Term::from_field_text(f.role, chronicle_client::text::role_name(*r)));
            clauses.push((Occur::Must, Box::new(TermSetQuery::new(terms))));
        }
        for (patterns, field) in [(&q.models, f.model), (&q.tools, f.tool)] {
            if !patterns.is_empty() {
                clauses.push((Occur::Must, any_pattern(field, patterns)));
            }
        }
        if let Some(project) = params.project {
            clauses.push((Occur::Must, Box::new(keyword(f.project, project))));
        }
        if !q.projects.is_empty() {
            let fragments: Vec<String> = q.projects.iter().map(|p| p.to_lowercase()).collect();
            let matching: Vec<Term> = catalog
                .projects
                .keys()
                .filter(|name| fragments.iter().any(|frag| name.to_lowercase().contains(frag.as_str())))
                .map(|name| Term::from_field_text(f.project, name))
                .collect();
            if matching.is_empty() {
                return Ok(None);
            }
            clauses.push((Occur::Must, Box::new(TermSetQuery::new(matching))));
        }
        if !q.sessions.is_empty() {
            let names: Vec<String> = q.sessions.iter().map(|s| s.trim().to_lowercase()).collect();
            let ids = session_ids(catalog, |s| names.contains(&s.name.to_lowercase()));
            if ids.is_empty() {
                return Ok(None);
            }
            clauses.push((
                Occur::Must,
                Box::new(TermSetQuery::new(
                    ids.into_iter().map(|id| Term::from_field_u64(f.session, id)),
                )),
            ));
        }
        if !q.files.is_empty() {
            let ids = session_ids(catalog, |s| {
                s.files
                    .iter()
                    .any(|path| q.files.iter().any(|want| same_file(path, want)))
            });
            let mut either: Vec<(Occur, Box<dyn Query>)> = q
                .files
                .iter()
                .map(|path| (Occur::Should, Box::new(keyword(f.edited, path)) as Box<dyn Query>))
                .collect();
            if !ids.is_empty() {
                either.push((
                    Occur::Should,
                    Box::new(TermSetQuery::new(
                        ids.into_iter().map(|id| Term::from_field_u64(f.session, id)),
                    )),
                ));
            }
            clauses.push((Occur::Must, Box::new(BooleanQuery::new(either))));
        }
        if !params.include_trash {
            let trash = session_ids(catalog, |s| s.kind == SessionKind::Trash);
            if !trash.is_empty() {
                clauses.push((
                    Occur::MustNot,
                    Box::new(TermSetQuery::new(
                        trash.into_iter().map(|id| Term::from_field_u64(f.session, id)),
                    )),
                ));
            }
        }
        if q.before_ms.is_some() || q.after_ms.is_some() {
            let lower = q.after_ms.map_or(Bound::Unbounded, |at| {
                Bound::Included(Term::from_field_i64(f.created, at))
            });
            let upper = q.before_ms.map_or(Bound::Unbounded, |at| {
                Bound::Excluded(Term::from_field_i64(f.created, at))
            });
            clauses.push((Occur::Must, Box::new(RangeQuery::new(lower, upper))));
        }
        if !clauses.iter().any(|(occur, _)| *occur == Occur::Must) {
            clauses.push((Occur::Must, Box::new(AllQuery)));
        }
        Ok(Some(Box::new(BooleanQuery::new(clauses))))
    }

    /// A word or phrase on the exact text: a term, a phrase of its tokens,
    /// or nothing when the tokenizer keeps none of it.
    fn exact(&self, text: &str) -> Result<Box<dyn Query>, IndexError> {
        let terms = self.tokens(self.fields.exact, text)?;
        Ok(match terms.len() {
            0 => Box::new(EmptyQuery),
            1 => Box::new(TermQuery::new(terms[0].clone(), IndexRecordOption::WithFreqs)),
            _ => Box::new(PhraseQuery::new(terms)),
        })
    }

    /// The messages a phrase matches, as a set of their keys: tantivy
    /// 0.27 asserts (in debug builds) when a phrase scorer is excluded
    /// directly, so an excluded phrase is looked up first.
    fn matching_keys(&self, searcher: &Searcher, phrase: &str) -> Result<Box<dyn Query>, IndexError> {
        let query = self.exact(phrase)?;
        let mut keys = Vec::new();
        for address in searcher.search(query.as_ref(), &DocSetCollector)? {
            let segment = searcher.segment_reader(address.segment_ord);
            let session = segment.fast_fields().u64("session")?.first(address.doc_id);
            let message = segment.fast_fields().u64("message")?.first(address.doc_id);
            if let (Some(session), Some(message)) = (session, message) {
                keys.push(Term::from_field_text(self.fields.key, &schema::key(session, message)));
            }
        }
        Ok(Box::new(TermSetQuery::new(keys)))
    }

    fn tokens(&self, field: Field, text: &str) -> Result<Vec<Term>, IndexError> {
        let mut analyzer = self.index.tokenizer_for_field(field)?;
        let mut stream = analyzer.token_stream(text);
        let mut terms = Vec::new();
        stream.process(&mut |token| terms.push(Term::from_field_text(field, &token.text)));
        Ok(terms)
    }

    /// Highlights what the words and phrases matched, in stemmed form so
    /// every inflection lights up; rarer stems count for more when the
    /// snippet's fragment is chosen.
    fn snippets(&self, searcher: &Searcher, q: &ParsedQuery) -> Result<Option<SnippetGenerator>, IndexError> {
        if !q.has_text() {
            return Ok(None);
        }
        let f = self.fields;
        let mut terms = BTreeMap::new();
        for text in q.words.iter().chain(&q.phrases) {
            for stem in stems(f, text) {
                let value = stem.value();
                let Some(word) = value.as_str() else { continue };
                let exact = Term::from_field_text(f.exact, word);
                let docs = searcher.doc_freq(&stem)? + searcher.doc_freq(&exact)?;
                terms.insert(word.to_owned(), 1.0 / (1.0 + docs as Score));
            }
        }
        Ok(Some(SnippetGenerator::new(
            terms,
            stem::analyzer(),
            f.stemmed,
            SNIPPET_CHARS,
        )))
    }
}

/// `text`'s stems, as terms of the stemmed field.
fn stems(f: &Fields, text: &str) -> Vec<Term> {
    let mut analyzer = stem::analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut terms = Vec::new();
    stream.process(&mut |token| terms.push(Term::from_field_text(f.stemmed, &token.text)));
    terms
}

/// What matches `stem` beside the word as written (`exact`): the stemmed
/// field, which holds the words their stem differs from, and the word that
/// is the stem itself, which only the exact field holds.
fn stem_queries(f: &Fields, stem: &Term, exact: &Term) -> impl Iterator<Item = TermQuery> {
    let itself = stem
        .value()
        .as_str()
        .map(|s| Term::from_field_text(f.exact, s))
        .filter(|t| t != exact);
    std::iter::once(term_query(stem.clone())).chain(itself.map(term_query))
}

fn term_query(term: Term) -> TermQuery {
    TermQuery::new(term, IndexRecordOption::WithFreqs)
}

fn keyword(field: Field, value: &str) -> TermQuery {
    TermQuery::new(Term::from_field_text(field, value), IndexRecordOption::Basic)
}

/// Matches a keyword field against any of the patterns.
fn any_pattern(field: Field, patterns: &[Pattern]) -> Box<dyn Query> {
    let either = patterns
        .iter()
        .map(|pattern| {
            let query: Box<dyn Query> = match pattern {
                Pattern::Exact(value) => Box::new(keyword(field, value)),
                Pattern::Prefix(prefix) => Box::new(RangeQuery::new(
                    Bound::Included(Term::from_field_text(field, prefix)),
                    Bound::Excluded(Term::from_field_text(field, &format!("{prefix}\u{10FFFF}"))),
                )),
            };
            (Occur::Should, query)
        })
        .collect();
    Box::new(BooleanQuery::new(either))
}

fn session_ids(catalog: &Catalog, keep: impl Fn(&crate::store::catalog::CatalogSession) -> bool) -> HashSet<u64> {
    catalog
        .sessions
        .iter()
        .filter(|(_, s)| keep(s))
        .map(|(id, _)| *id)
        .collect()
}

/// `file:login.rs` finds `src/login.rs`: the same path, or the same
/// trailing path components.
fn same_file(stored: &str, wanted: &str) -> bool {
    let stored = stored.trim_start_matches("./");
    stored == wanted || stored.ends_with(&format!("/{wanted}"))
}

fn hit(
    store: &Store,
    searcher: &Searcher,
    catalog: &Catalog,
    snippets: Option<&SnippetGenerator>,
    address: DocAddress,
    score: Score,
) -> Result<Option<SearchHit>, IndexError> {
    let segment = searcher.segment_reader(address.segment_ord);
    let session = segment.fast_fields().u64("session")?.first(address.doc_id);
    let message_id = segment.fast_fields().u64("message")?.first(address.doc_id);
    let (Some(session), Some(message_id)) = (session, message_id) else {
        return Ok(None);
    };
    let Some(entry) = catalog.sessions.get(&session) else {
        return Ok(None);
    };
    // Gone since the index's last commit (purged, rewound): not shown.
    let Some(message) = store.session_message(session, message_id)? else {
        return Ok(None);
    };
    let text = schema::searchable_text(&message);
    let (snippet, highlights) = match snippets.map(|g| g.snippet(&text)) {
        Some(snippet) if !snippet.is_empty() => {
            let spans = snippet
                .highlighted()
                .iter()
                .map(|range| Span {
                    start: range.start as u32,
                    end: range.end as u32,
                })
                .collect();
            (snippet.fragment().to_owned(), spans)
        }
        _ => (text.chars().take(SNIPPET_CHARS).collect(), Vec::new()),
    };
    Ok(Some(SearchHit {
        project: entry.project.clone(),
        kind: match entry.kind {
            SessionKind::Working => WireKind::Working,
            SessionKind::Saved => WireKind::Saved,
            SessionKind::Trash => WireKind::Trash,
        } as i32,
        session_name: entry.name.clone(),
        message_id,
        role: message.role,
        created_at_ms: message.created_at_ms,
        snippet,
        highlights,
        score,
        model: message.model,
    }))
}
