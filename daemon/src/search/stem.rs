//! The stemmed field's analysers: tantivy's `en_stem` (simple tokenizer,
//! tokens over 40 bytes dropped, lowercased, Snowball English) with each
//! thread remembering the stems it has computed — chat text repeats a small
//! vocabulary, and the Snowball algorithm was a quarter of an indexing
//! thread's time in `search_bench`'s profile.
//!
//! The index keeps in its stemmed field only the words the stemmer changes
//! (`parsing` → `pars`, not `the`): a word that is its own stem is in the
//! exact field already, so a search for stem `s` asks the stemmed field and
//! the exact field for `s`. About half the words of chat text are their own
//! stem, and each one kept twice cost a posting-list insertion.

use std::collections::HashMap;

use tantivy::tokenizer::{
    LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer, Token, TokenFilter, TokenStream, Tokenizer,
};

/// Every word's stem: for queries and for cutting snippets.
pub fn analyzer() -> TextAnalyzer {
    build(false)
}

/// The stems that differ from their word: what the stemmed field indexes,
/// registered under [`super::schema::STEMMED_TOKENIZER`].
pub fn index_analyzer() -> TextAnalyzer {
    build(true)
}

fn build(only_changed: bool) -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(CachedStemmer { only_changed })
        .build()
}

/// Stems beyond this many are forgotten all at once: a cache of the
/// common words, bounded whatever the text.
const CACHE_ENTRIES: usize = 50_000;

/// Snowball English with a per-thread memo of its results; with
/// `only_changed`, a word that is its own stem is passed over.
#[derive(Clone, Copy)]
pub struct CachedStemmer {
    only_changed: bool,
}

impl TokenFilter for CachedStemmer {
    type Tokenizer<T: Tokenizer> = CachedStemmerFilter<T>;

    fn transform<T: Tokenizer>(self, inner: T) -> CachedStemmerFilter<T> {
        CachedStemmerFilter {
            inner,
            only_changed: self.only_changed,
            stems: HashMap::new(),
        }
    }
}

pub struct CachedStemmerFilter<T> {
    inner: T,
    only_changed: bool,
    stems: HashMap<Box<str>, Box<str>>,
}

impl<T: Clone> Clone for CachedStemmerFilter<T> {
    /// A clone (one per indexing thread and per search) starts empty
    /// rather than copying another thread's memo.
    fn clone(&self) -> Self {
        CachedStemmerFilter {
            inner: self.inner.clone(),
            only_changed: self.only_changed,
            stems: HashMap::new(),
        }
    }
}

impl<T: Tokenizer> Tokenizer for CachedStemmerFilter<T> {
    type TokenStream<'a> = CachedStemmerStream<'a, T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        CachedStemmerStream {
            tail: self.inner.token_stream(text),
            only_changed: self.only_changed,
            stems: &mut self.stems,
            stemmer: frostem::Stemmer::new(frostem::Algorithm::English),
        }
    }
}

pub struct CachedStemmerStream<'a, T> {
    tail: T,
    only_changed: bool,
    stems: &'a mut HashMap<Box<str>, Box<str>>,
    stemmer: frostem::Stemmer,
}

impl<T: TokenStream> TokenStream for CachedStemmerStream<'_, T> {
    fn advance(&mut self) -> bool {
        loop {
            if !self.tail.advance() {
                return false;
            }
            let token = self.tail.token_mut();
            let stem = match self.stems.get(token.text.as_str()) {
                Some(stem) => stem,
                None => {
                    if self.stems.len() >= CACHE_ENTRIES {
                        self.stems.clear();
                    }
                    let stem: Box<str> = self.stemmer.stem(&token.text).into();
                    self.stems.entry(token.text.as_str().into()).or_insert(stem)
                }
            };
            if **stem == *token.text {
                if self.only_changed {
                    continue;
                }
            } else {
                token.text.clear();
                token.text.push_str(stem);
            }
            return true;
        }
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

#[cfg(test)]
mod tests {
    use tantivy::tokenizer::TokenizerManager;

    use super::*;

    fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<(String, usize, usize, usize)> {
        let mut out = Vec::new();
        analyzer
            .token_stream(text)
            .process(&mut |t: &Token| out.push((t.text.clone(), t.position, t.offset_from, t.offset_to)));
        out
    }

    #[test]
    fn stems_exactly_as_tantivys_en_stem_whether_remembered_or_not() {
        let mut reference = TokenizerManager::default()
            .get("en_stem")
            .expect("tantivy registers en_stem");
        let mut cached = analyzer();
        let text = "Running the parsers: RUNNING runs, parsed Parsing; \
                    naïve caches cached caching — a_word_much_longer_than_forty_bytes_is_dropped_here x";
        // Twice: the second pass answers every word from the memo.
        for _ in 0..2 {
            assert_eq!(tokens(&mut cached, text), tokens(&mut reference, text));
        }
    }

    #[test]
    fn the_index_keeps_only_the_words_the_stemmer_changes() {
        let text = "The parsers were parsing a file quickly, then the tests ran";
        let mut reference = TokenizerManager::default()
            .get("en_stem")
            .expect("tantivy registers en_stem");
        let mut words = TokenizerManager::default()
            .get("default")
            .expect("tantivy registers default");
        let stems = tokens(&mut reference, text);
        let changed: Vec<_> = stems
            .iter()
            .zip(tokens(&mut words, text))
            .filter(|(stem, word)| stem.0 != word.0)
            .map(|(stem, _)| stem.clone())
            .collect();
        assert!(changed.len() >= 3 && changed.len() < stems.len(), "{changed:?}");
        let mut index = index_analyzer();
        for _ in 0..2 {
            assert_eq!(tokens(&mut index, text), changed);
        }
    }

    #[test]
    fn a_full_memo_is_forgotten_and_stems_stay_right() {
        let mut reference = TokenizerManager::default()
            .get("en_stem")
            .expect("tantivy registers en_stem");
        let mut cached = analyzer();
        let words: String = (0..CACHE_ENTRIES + 10)
            .map(|n| format!("parsing{n}s walking "))
            .collect();
        // Past the bound the memo is emptied mid-text; the stems after
        // that, remembered again, still agree.
        for _ in 0..2 {
            assert_eq!(tokens(&mut cached, &words), tokens(&mut reference, &words));
        }
    }
}
