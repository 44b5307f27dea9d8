//! Cutting the laid-out cards into pages before anything is painted, so
//! the first chunk can already say how many pages there will be.
//!
//! Cards are stacked top to bottom. A card that does not fit below the
//! previous one starts the next page; a card taller than a whole page is
//! cut at the lowest point where no text row is split (see
//! [`Unit::breaks`]), and goes on at the top of the next page. Only a
//! card with no such point in a whole page's height (which real text
//! cannot produce) is cut through, and then its rows are drawn on both
//! pages, halves included: never dropped.

use super::layout::{Geometry, Unit};

/// A piece of a card on a page: card rows `from..to`, drawn with the
/// card's row `from` at page row `y`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fragment {
    pub unit: usize,
    pub from: i32,
    pub to: i32,
    pub y: i32,
}

/// One page and the card pieces it shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Page {
    pub fragments: Vec<Fragment>,
    /// Height of the whole page, furniture included.
    pub height: i32,
}

/// Pages for `units`, none taller than `max_height` pixels.
pub fn plan(units: &[Unit], geo: &Geometry, max_height: i32) -> Vec<Page> {
    let origin = geo.margin + geo.title_bar + geo.window_pad;
    let limit = (max_height - geo.page_overhead()).max(1);
    let gap = geo.card_gap;
    // A card is not cut to leave a sliver of it at a page's bottom.
    let min_slice = geo.ipx(64.0).min(limit);
    let mut pages = Vec::new();
    let mut page = Page::default();
    let mut used = 0;
    let finish = |page: &mut Page, used: &mut i32, pages: &mut Vec<Page>| {
        page.height = geo.page_overhead() + *used;
        pages.push(std::mem::take(page));
        *used = 0;
    };
    for (index, unit) in units.iter().enumerate() {
        let mut from = 0;
        while from < unit.height {
            let empty = page.fragments.is_empty();
            let lead = if empty { 0 } else { gap };
            let room = limit - used - lead;
            let rest = unit.height - from;
            if rest <= room {
                page.fragments.push(Fragment {
                    unit: index,
                    from,
                    to: unit.height,
                    y: origin + used + lead,
                });
                used += lead + rest;
                break;
            }
            if !empty && rest <= limit {
                finish(&mut page, &mut used, &mut pages);
                continue;
            }
            let cut = if room > 0 {
                let below = unit.breaks.partition_point(|&b| b <= from + room);
                below.checked_sub(1).map(|i| unit.breaks[i]).filter(|&b| b > from)
            } else {
                None
            };
            match cut {
                Some(to) if empty || to - from >= min_slice => {
                    page.fragments.push(Fragment {
                        unit: index,
                        from,
                        to,
                        y: origin + used + lead,
                    });
                    used += lead + (to - from);
                    from = to;
                    finish(&mut page, &mut used, &mut pages);
                }
                _ if !empty => finish(&mut page, &mut used, &mut pages),
                _ => {
                    let to = from + room;
                    page.fragments.push(Fragment {
                        unit: index,
                        from,
                        to,
                        y: origin + used,
                    });
                    used += room;
                    from = to;
                    finish(&mut page, &mut used, &mut pages);
                }
            }
        }
    }
    if !page.fragments.is_empty() || pages.is_empty() {
        finish(&mut page, &mut used, &mut pages);
    }
    pages
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::png::layout::UnitKind;

    fn unit(height: i32, breaks: Vec<i32>) -> Unit {
        Unit {
            kind: UnitKind::Notice,
            height,
            chrome: Vec::new(),
            blocks: Vec::new(),
            breaks,
        }
    }

    fn geo() -> Geometry {
        Geometry::new(960, 1.0)
    }

    #[test]
    fn cards_that_fit_share_a_page() {
        let g = geo();
        let pages = plan(&[unit(100, vec![]), unit(200, vec![])], &g, 16_384);
        assert_eq!(pages.len(), 1);
        assert_eq!(pages[0].fragments.len(), 2);
        assert_eq!(pages[0].height, g.page_overhead() + 100 + g.card_gap + 200);
    }

    #[test]
    fn a_card_that_does_not_fit_starts_the_next_page() {
        let g = geo();
        let limit = 2000 - g.page_overhead();
        let pages = plan(&[unit(limit - 50, vec![]), unit(300, vec![100, 200])], &g, 2000);
        assert_eq!(pages.len(), 2);
        assert_eq!(pages[1].fragments[0].from, 0);
        assert!(pages.iter().all(|p| p.height <= 2000));
    }

    #[test]
    fn a_card_taller_than_a_page_is_cut_at_its_breaks() {
        let g = geo();
        let limit = 1024 - g.page_overhead();
        let breaks: Vec<i32> = (1..100).map(|i| i * 30).collect();
        let pages = plan(&[unit(3000, breaks.clone())], &g, 1024);
        assert!(pages.len() >= 3);
        let mut expect = 0;
        for page in &pages {
            assert!(page.height <= 1024);
            for f in &page.fragments {
                assert_eq!(f.from, expect, "pieces follow each other");
                assert!(f.to - f.from <= limit);
                assert!(f.to == 3000 || breaks.contains(&f.to), "cut at a break: {}", f.to);
                expect = f.to;
            }
        }
        assert_eq!(expect, 3000, "the whole card is shown");
    }

    #[test]
    fn a_card_without_breaks_is_cut_through_rather_than_lost() {
        let g = geo();
        let pages = plan(&[unit(5000, vec![])], &g, 1024);
        let shown: i32 = pages.iter().flat_map(|p| &p.fragments).map(|f| f.to - f.from).sum();
        assert_eq!(shown, 5000);
        assert!(pages.iter().all(|p| p.height <= 1024));
    }
}
