//! Full-text search over every message of every session, kept by the
//! daemon in a tantivy index under the data directory (`search/`). redb
//! stays the truth: the index is fed from committed events by its own
//! thread ([`indexer`]), records which revision of each project it holds,
//! and is rebuilt from redb whenever it is missing, damaged or of another
//! format. Searches ([`searcher`]) parse the query language of
//! docs/SEARCH.md ([`query`]) and read the index through the last commit,
//! with session kinds and names from the catalog that commit saw.

mod directory;
mod indexer;
pub mod query;
mod queue;
mod schema;
mod searcher;
mod stem;

use std::{
    path::PathBuf,
    sync::{
        Arc, Mutex, RwLock,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    thread::JoinHandle,
};

use tantivy::{Index, IndexReader};
use tokio_util::sync::CancellationToken;

use crate::store::{Store, StoreError, catalog::Catalog};

pub use indexer::WRITER_HEAP_BYTES;
pub use searcher::{SearchPage, SearchParams};

/// The index's directory inside the data directory.
pub const INDEX_DIR: &str = "search";

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error(transparent)]
    Query(#[from] query::QueryError),
    #[error("page_token {0:?} is not one this daemon gave out — start again without it")]
    PageToken(String),
    #[error("search is off in this daemon (started with --no-search-index)")]
    Disabled,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("search index {0}: {1}")]
    Io(PathBuf, #[source] std::io::Error),
    #[error("the daemon is stopping")]
    Stopped,
}

/// What the indexer thread shares with searches.
struct Shared {
    fields: schema::Fields,
    /// The open index and its reader; `None` until opened (or while it is
    /// rebuilt after a failure).
    index: RwLock<Option<(Index, IndexReader)>>,
    /// The sessions as of the last commit.
    catalog: RwLock<Arc<Catalog>>,
    /// True while the index is built or caught up from redb, or holds
    /// back a project's changes until an import ends.
    catching_up: AtomicBool,
    /// Imports running ([`SearchIndex::import_running`]).
    imports: AtomicUsize,
    /// The threads searches run on, at the daemon's own priority.
    searches: tantivy::Executor,
}

/// A handle to the search index; cheap to clone.
#[derive(Clone)]
pub struct SearchIndex {
    store: Store,
    shared: Option<Arc<Shared>>,
    thread: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl SearchIndex {
    /// Starts the indexer thread on `dir` (rebuilt from scratch with
    /// `reindex`). Call inside the tokio runtime; it stops with `shutdown`.
    pub fn start(
        store: Store,
        dir: PathBuf,
        reindex: bool,
        shutdown: CancellationToken,
    ) -> std::io::Result<SearchIndex> {
        let (_, fields) = schema::build();
        let shared = Arc::new(Shared {
            fields,
            index: RwLock::new(None),
            catalog: RwLock::new(Arc::new(Catalog::default())),
            catching_up: AtomicBool::new(true),
            imports: AtomicUsize::new(0),
            searches: indexer::search_threads().map_err(std::io::Error::other)?,
        });
        // Subscribed before the catch-up reads redb, so nothing committed
        // in between is missed.
        let events = store.subscribe();
        let runtime = tokio::runtime::Handle::current();
        let thread = {
            let (store, shared) = (store.clone(), shared.clone());
            std::thread::Builder::new()
                .name("chronicle-indexer".into())
                .spawn(move || indexer::run(store, dir, reindex, shared, events, runtime, shutdown))?
        };
        Ok(SearchIndex {
            store,
            shared: Some(shared),
            thread: Arc::new(Mutex::new(Some(thread))),
        })
    }

    /// A handle whose searches are refused: the daemon runs without an index.
    pub fn disabled(store: Store) -> SearchIndex {
        SearchIndex {
            store,
            shared: None,
            thread: Arc::new(Mutex::new(None)),
        }
    }

    /// Waits for the indexer thread to finish (after `shutdown`).
    pub fn join(&self) {
        let handle = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }

    /// Marks an import as running until the guard drops. Meanwhile the
    /// indexer holds back the projects the import writes to and indexes
    /// them once every import has ended (searches say the index is
    /// catching up): on two cores, tokenizing alongside the import slowed
    /// it by a third (docs/BENCHMARKS.md), and the index's memory adds to
    /// the import's instead of coming after it.
    pub fn import_running(&self) -> ImportGuard {
        if let Some(shared) = &self.shared {
            shared.imports.fetch_add(1, Ordering::SeqCst);
        }
        ImportGuard(self.shared.clone())
    }

    /// One page of hits; see [`searcher`].
    pub fn search(&self, params: &SearchParams<'_>) -> Result<SearchPage, IndexError> {
        let shared = self.shared.as_ref().ok_or(IndexError::Disabled)?;
        searcher::search(&self.store, shared, params)
    }
}

/// An import [`SearchIndex::import_running`] counts.
pub struct ImportGuard(Option<Arc<Shared>>);

impl Drop for ImportGuard {
    fn drop(&mut self) {
        if let Some(shared) = &self.0 {
            shared.imports.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use chronicle_proto::v1::{Message, Role};

    use super::*;
    use crate::store::{Mutation, ProjectPath, StoreConfig};

    fn search(index: &SearchIndex, query: &str) -> SearchPage {
        let params = SearchParams {
            query,
            project: None,
            include_trash: false,
            limit: 10,
            page_token: "",
        };
        index.search(&params).expect("search")
    }

    async fn until(what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !done() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn what_an_import_writes_is_indexed_once_no_import_runs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("chronicle.redb"), StoreConfig::default()).expect("open store");
        let shutdown = CancellationToken::new();
        let index = SearchIndex::start(store.clone(), dir.path().join(INDEX_DIR), false, shutdown.clone())
            .expect("start the index");
        until("the index to open", || !search(&index, "anything").catching_up).await;

        let import = index.import_running();
        let project = ProjectPath::new("/work/imported").expect("project");
        let message = Message {
            role: Role::User as i32,
            content: "the zephyr cookie crumbles".into(),
            ..Message::default()
        };
        store
            .mutate(&project, None, Mutation::Append { message })
            .await
            .expect("append");
        until("the project to be held back", || search(&index, "zephyr").catching_up).await;
        // Held back for as long as the import runs, however long that is.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let held = search(&index, "zephyr");
        assert!(held.catching_up && held.hits.is_empty(), "{held:?}");

        drop(import);
        until("the held-back project to be indexed", || {
            let page = search(&index, "zephyr");
            !page.catching_up && page.hits.len() == 1
        })
        .await;
        shutdown.cancel();
        index.join();
    }
}
