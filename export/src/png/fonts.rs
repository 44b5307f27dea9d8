//! Fonts and the shaping/rasterising engines that use them.
//!
//! DejaVu Sans (regular, bold, oblique, bold oblique) and DejaVu Sans Mono
//! are compiled into the binary, so a chat renders to the same pixels on
//! every machine. The system's fonts are loaded after them, for glyphs
//! DejaVu lacks (CJK, Arabic, colour emoji) only: a system copy of DejaVu
//! itself is dropped, so an older or newer installed version can never
//! stand in for the embedded one. Last comes an embedded monochrome emoji
//! font (Noto Emoji, 409 KiB, as egui ships it): a machine without emoji
//! fonts still draws every emoji recognisably, while the system's colour
//! emoji font, when there is one, wins because cosmic-text tries it by
//! name before any unnamed face. A glyph that no font has is drawn as the
//! font's "missing glyph" box by the shaper, never skipped, and reported.
//!
//! Building a [`FontSystem`] costs a scan of the system fonts, so the font
//! database is built once per process and every export borrows an
//! [`Engine`] (shaper state plus a rasterised-glyph cache) from a small
//! pool and gives it back when done: the glyph cache survives from one
//! export to the next, and concurrent exports never wait for each other.

use std::sync::{Arc, Mutex, OnceLock};

use cosmic_text::{FontSystem, SwashCache, fontdb};

/// The proportional family every prose run uses.
pub const SANS: &str = "DejaVu Sans";
/// The family of code, paths and command output.
pub const MONO: &str = "DejaVu Sans Mono";
/// Engines kept for reuse; more concurrent exports build their own.
const POOL_SIZE: usize = 2;
/// A glyph cache past this many entries is emptied when its engine
/// returns to the pool, so a chat in an unusual script cannot make the
/// daemon's memory grow for good.
const MAX_CACHED_GLYPHS: usize = 16_384;

/// The embedded faces, in the order they enter the database.
fn embedded() -> [&'static [u8]; 8] {
    [
        dejavu::sans::regular(),
        dejavu::sans::bold(),
        dejavu::sans::oblique(),
        dejavu::sans::bold_oblique(),
        dejavu::sans_mono::regular(),
        dejavu::sans_mono::bold(),
        dejavu::sans_mono::oblique(),
        dejavu::sans_mono::bold_oblique(),
    ]
}

/// The font database: embedded faces first, then the system's fallbacks.
fn database() -> &'static fontdb::Database {
    static DATABASE: OnceLock<fontdb::Database> = OnceLock::new();
    DATABASE.get_or_init(|| {
        let mut db = fontdb::Database::new();
        for face in embedded() {
            db.load_font_source(fontdb::Source::Binary(Arc::new(face)));
        }
        db.load_system_fonts();
        db.load_font_source(fontdb::Source::Binary(Arc::new(
            epaint_default_fonts::NOTO_EMOJI_REGULAR,
        )));
        let shadowing: Vec<fontdb::ID> = db
            .faces()
            .filter(|face| !matches!(face.source, fontdb::Source::Binary(_)))
            .filter(|face| {
                face.families
                    .iter()
                    .any(|(family, _)| family.eq_ignore_ascii_case(SANS) || family.eq_ignore_ascii_case(MONO))
            })
            .map(|face| face.id)
            .collect();
        for id in shadowing {
            db.remove_face(id);
        }
        db.set_sans_serif_family(SANS);
        db.set_monospace_family(MONO);
        db
    })
}

/// A shaper and a rasteriser with their caches; one export uses one.
pub struct Engine {
    pub fonts: FontSystem,
    pub glyphs: SwashCache,
}

impl Engine {
    fn new() -> Engine {
        // A fixed locale: the system's would change which fallback font
        // wins for Han characters, and so the pixels, from user to user.
        Engine {
            fonts: FontSystem::new_with_locale_and_db("en-US".to_owned(), database().clone()),
            glyphs: SwashCache::new(),
        }
    }
}

fn pool() -> &'static Mutex<Vec<Engine>> {
    static POOL: OnceLock<Mutex<Vec<Engine>>> = OnceLock::new();
    POOL.get_or_init(|| Mutex::new(Vec::new()))
}

/// An engine borrowed from the pool; it goes back when dropped.
pub struct Borrowed {
    engine: Option<Engine>,
}

/// Takes an idle engine, or builds one when all are busy.
pub fn borrow() -> Borrowed {
    let idle = pool().lock().ok().and_then(|mut engines| engines.pop());
    Borrowed {
        engine: Some(idle.unwrap_or_else(Engine::new)),
    }
}

impl std::ops::Deref for Borrowed {
    type Target = Engine;
    fn deref(&self) -> &Engine {
        self.engine.as_ref().expect("an engine is held until drop")
    }
}

impl std::ops::DerefMut for Borrowed {
    fn deref_mut(&mut self) -> &mut Engine {
        self.engine.as_mut().expect("an engine is held until drop")
    }
}

impl Drop for Borrowed {
    fn drop(&mut self) {
        let Some(mut engine) = self.engine.take() else {
            return;
        };
        // An engine dropped by a panic may hold half-updated caches: it is
        // not handed to the next export.
        if std::thread::panicking() {
            return;
        }
        if engine.glyphs.image_cache.len() > MAX_CACHED_GLYPHS {
            engine.glyphs.image_cache.clear();
        }
        if let Ok(mut engines) = pool().lock()
            && engines.len() < POOL_SIZE
        {
            engines.push(engine);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_families_are_the_only_dejavu() {
        let db = database();
        for family in [SANS, MONO] {
            let faces: Vec<_> = db
                .faces()
                .filter(|f| f.families.iter().any(|(name, _)| name == family))
                .collect();
            assert_eq!(faces.len(), 4, "{family}: regular, bold, oblique, bold oblique");
            assert!(
                faces.iter().all(|f| matches!(f.source, fontdb::Source::Binary(_))),
                "{family} comes from the binary, never from the system"
            );
        }
    }

    #[test]
    fn engines_return_to_the_pool() {
        drop(borrow());
        let a = borrow();
        let b = borrow();
        drop((a, b));
        assert!(pool().lock().expect("pool").len() <= POOL_SIZE);
    }
}
