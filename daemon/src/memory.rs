//! Handing the heap an import freed back to the system. glibc keeps freed
//! memory in the arena of the thread that allocated it, so after an import
//! the parser's and writer's arenas stay resident at the import's peak
//! while the search index, on threads of its own, takes its memory on top
//! (`chronicle-bench-sources` measured both phases). `malloc_trim` returns
//! the free pages of every arena.

/// Returns the allocator's free pages to the system; call it after bulk
/// work, not on a hot path (glibc walks and locks every arena in turn).
/// Does nothing off glibc, whose alternatives return memory themselves.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn release_freed_heap() {
    // SAFETY: malloc_trim takes no pointers and only returns pages that no
    // allocation uses; glibc locks each arena while it trims it.
    let released = unsafe { libc::malloc_trim(0) } == 1;
    tracing::debug!(released, "returned freed heap to the system");
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release_freed_heap() {}
