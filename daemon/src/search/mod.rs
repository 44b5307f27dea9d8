//! Full-text search over every message of every session, kept by the
//! daemon in a tantivy index under the data directory (`search/`). redb
//! stays the truth: the index is fed from committed events by its own
//! thread ([`indexer`]), records which revision of each project it holds,
//! and is rebuilt from redb whenever it is missing, damaged or of another
//! format. Searches ([`searcher`]) parse the query language of
//! docs/SEARCH.md ([`query`]) and read the index through the last commit,
//! with session kinds and names from the catalog that commit saw.

mod indexer;
pub mod query;
mod schema;
mod searcher;
mod stem;

use std::{
    path::PathBuf,
    sync::{Arc, Mutex, RwLock, atomic::AtomicBool},
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
    /// True while the index is built or caught up from redb.
    catching_up: AtomicBool,
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

    /// One page of hits; see [`searcher`].
    pub fn search(&self, params: &SearchParams<'_>) -> Result<SearchPage, IndexError> {
        let shared = self.shared.as_ref().ok_or(IndexError::Disabled)?;
        searcher::search(&self.store, shared, params)
    }
}
