//! The two colour schemes of an image export. Every colour the painter
//! uses comes from a [`Palette`], so light and dark differ in this file
//! only, and the syntax-highlighting theme is chosen to sit on the code
//! background of the same palette.

use chronicle_proto::v1::Role;

/// An opaque sRGB colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// `0xRRGGBB`, as colours are written everywhere else.
    pub const fn hex(value: u32) -> Rgb {
        Rgb((value >> 16) as u8, (value >> 8) as u8, value as u8)
    }

    /// This colour mixed with `other`; `t` = 0 is self, 1 is other.
    pub fn mix(self, other: Rgb, t: f32) -> Rgb {
        let t = t.clamp(0.0, 1.0);
        let lerp = |a: u8, b: u8| (f32::from(a) + (f32::from(b) - f32::from(a)) * t).round() as u8;
        Rgb(lerp(self.0, other.0), lerp(self.1, other.1), lerp(self.2, other.2))
    }

    /// Perceived lightness, 0–255: what the tests and the contrast checks
    /// compare.
    pub fn luma(self) -> u8 {
        ((u32::from(self.0) * 299 + u32::from(self.1) * 587 + u32::from(self.2) * 114) / 1000) as u8
    }
}

/// Light or dark, as the request asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Theme {
    Light,
    Dark,
}

/// Every colour of one theme.
#[derive(Clone, Debug)]
pub struct Palette {
    pub theme: Theme,
    /// Behind everything: the "desktop" the chat window sits on.
    pub page: Rgb,
    /// The window's title bar and the header card.
    pub chrome: Rgb,
    pub chrome_border: Rgb,
    pub card: Rgb,
    pub card_border: Rgb,
    /// User messages are tinted, like the sender's bubbles of a chat.
    pub user_card: Rgb,
    pub user_card_border: Rgb,
    pub text: Rgb,
    pub muted: Rgb,
    pub heading: Rgb,
    pub link: Rgb,
    pub code_bg: Rgb,
    pub code_border: Rgb,
    pub code_text: Rgb,
    pub inline_code_bg: Rgb,
    pub quote_bar: Rgb,
    pub quote_text: Rgb,
    pub rule: Rgb,
    pub table_border: Rgb,
    pub table_head: Rgb,
    pub badge_bg: Rgb,
    pub error: Rgb,
    pub warning: Rgb,
    /// The three dots of the title bar.
    pub dots: [Rgb; 3],
    /// The syntect theme whose token colours suit `code_bg`.
    pub syntax_theme: &'static str,
}

impl Palette {
    pub fn new(theme: Theme) -> Palette {
        match theme {
            Theme::Light => Palette {
                theme,
                page: Rgb::hex(0xe6e9ef),
                chrome: Rgb::hex(0xf6f7f9),
                chrome_border: Rgb::hex(0xd0d7de),
                card: Rgb::hex(0xffffff),
                card_border: Rgb::hex(0xd8dee4),
                user_card: Rgb::hex(0xeef5ff),
                user_card_border: Rgb::hex(0xc8dcf7),
                text: Rgb::hex(0x1f2328),
                muted: Rgb::hex(0x656d76),
                heading: Rgb::hex(0x111418),
                link: Rgb::hex(0x0969da),
                code_bg: Rgb::hex(0xf3f5f8),
                code_border: Rgb::hex(0xd8dee4),
                code_text: Rgb::hex(0x24292f),
                inline_code_bg: Rgb::hex(0xeceef1),
                quote_bar: Rgb::hex(0xd0d7de),
                quote_text: Rgb::hex(0x59636e),
                rule: Rgb::hex(0xd8dee4),
                table_border: Rgb::hex(0xd0d7de),
                table_head: Rgb::hex(0xf3f5f8),
                badge_bg: Rgb::hex(0xeaeef2),
                error: Rgb::hex(0xcf222e),
                warning: Rgb::hex(0x9a6700),
                dots: [Rgb::hex(0xff5f57), Rgb::hex(0xfebc2e), Rgb::hex(0x28c840)],
                syntax_theme: "InspiredGitHub",
            },
            Theme::Dark => Palette {
                theme,
                page: Rgb::hex(0x090c10),
                chrome: Rgb::hex(0x161b22),
                chrome_border: Rgb::hex(0x30363d),
                card: Rgb::hex(0x161b22),
                card_border: Rgb::hex(0x2d333b),
                user_card: Rgb::hex(0x132339),
                user_card_border: Rgb::hex(0x1f3b61),
                text: Rgb::hex(0xe6edf3),
                muted: Rgb::hex(0x8d96a0),
                heading: Rgb::hex(0xf0f6fc),
                link: Rgb::hex(0x4493f8),
                code_bg: Rgb::hex(0x0d1117),
                code_border: Rgb::hex(0x30363d),
                code_text: Rgb::hex(0xc9d1d9),
                inline_code_bg: Rgb::hex(0x2a313c),
                quote_bar: Rgb::hex(0x3d444d),
                quote_text: Rgb::hex(0x9198a1),
                rule: Rgb::hex(0x30363d),
                table_border: Rgb::hex(0x3d444d),
                table_head: Rgb::hex(0x1c2129),
                badge_bg: Rgb::hex(0x262c36),
                error: Rgb::hex(0xf85149),
                warning: Rgb::hex(0xd29922),
                dots: [Rgb::hex(0xff5f57), Rgb::hex(0xfebc2e), Rgb::hex(0x28c840)],
                syntax_theme: "base16-eighties.dark",
            },
        }
    }

    /// The colour that marks a role: its label, and the card's accent.
    pub fn role(&self, role: Role) -> Rgb {
        let light = self.theme == Theme::Light;
        let hex = match role {
            Role::User => [0x0969da, 0x4493f8],
            Role::Assistant => [0x8250df, 0xab7df8],
            Role::Tool => [0xbc4c00, 0xf0883e],
            Role::System => [0x57606a, 0x9198a1],
            Role::CommandOutput => [0x1a7f37, 0x3fb950],
            Role::Log => [0x6e7781, 0x8d96a0],
            Role::Unspecified => [0x6e7781, 0x8d96a0],
        };
        Rgb::hex(if light { hex[0] } else { hex[1] })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn light_is_light_and_dark_is_dark() {
        let light = Palette::new(Theme::Light);
        let dark = Palette::new(Theme::Dark);
        assert!(light.page.luma() > 200 && light.card.luma() > 200);
        assert!(dark.page.luma() < 40 && dark.card.luma() < 40);
        // Text stands out from its card in both.
        assert!(light.card.luma() - light.text.luma() > 150);
        assert!(dark.text.luma() - dark.card.luma() > 150);
    }

    #[test]
    fn mixing_goes_from_one_colour_to_the_other() {
        let (a, b) = (Rgb(0, 0, 0), Rgb(255, 255, 255));
        assert_eq!(a.mix(b, 0.0), a);
        assert_eq!(a.mix(b, 1.0), b);
        assert_eq!(a.mix(b, 0.5), Rgb(128, 128, 128));
    }
}
