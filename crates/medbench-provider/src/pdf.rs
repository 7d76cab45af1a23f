//! PDFs for endpoints that cannot read them: each page rendered to a PNG with `hayro`
//! (a pure-Rust rasterizer), or the PDF passed through as an OpenAI `file` part.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{ErrorKind, ProviderError};

/// The longer side of a rendered page, in pixels (an A4 page becomes 1130 × 1600): large
/// enough for the small print of a report, within what vision endpoints accept per image.
pub const PDF_PAGE_LONG_SIDE: u32 = 1600;

/// The most pages one PDF may have to be rendered. A longer PDF is an error for that item
/// (never a silent cut): send it with [`PdfMode::File`] instead.
pub const PDF_MAX_PAGES: usize = 20;

/// How an OpenAI-compatible endpoint receives a PDF part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PdfMode {
    /// Each page rendered to a PNG and sent as an image part, in page order. Any vision
    /// endpoint can read these.
    #[default]
    Images,
    /// The PDF itself as a `{"type": "file"}` content part (OpenAI's hosted API and the
    /// gateways that copy it).
    File,
}

impl PdfMode {
    /// `images` or `file`.
    pub fn as_str(self) -> &'static str {
        match self {
            PdfMode::Images => "images",
            PdfMode::File => "file",
        }
    }
}

impl fmt::Display for PdfMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PdfMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "images" => Ok(PdfMode::Images),
            "file" => Ok(PdfMode::File),
            other => Err(format!(
                "unknown PDF mode `{other}` (expected images or file)"
            )),
        }
    }
}

/// Renders every page of a PDF to PNG bytes, in page order, the longer side
/// [`PDF_PAGE_LONG_SIDE`] pixels, on white.
///
/// A PDF that does not parse, is encrypted, has no pages or more than [`PDF_MAX_PAGES`],
/// or makes the rasterizer fail gives an [`ErrorKind::Render`] error saying which; a panic
/// inside the rasterizer is caught and reported the same way.
pub fn render_pdf_pages(data: &[u8]) -> Result<Vec<Vec<u8>>, ProviderError> {
    let owned = data.to_vec();
    match std::panic::catch_unwind(move || render_pages(owned)) {
        Ok(result) => result,
        Err(panic) => {
            let why = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown cause".to_string());
            Err(render_error(format!("the PDF rasterizer failed: {why}")))
        }
    }
}

fn render_error(message: impl Into<String>) -> ProviderError {
    ProviderError::new(ErrorKind::Render, message)
}

fn render_pages(data: Vec<u8>) -> Result<Vec<Vec<u8>>, ProviderError> {
    use hayro::hayro_interpret::InterpreterSettings;
    use hayro::hayro_syntax::{LoadPdfError, Pdf};
    use hayro::vello_cpu::color::palette::css::WHITE;
    use hayro::{PixmapSettings, RenderCache, RenderSettings};

    let size = data.len();
    let pdf = Pdf::new(std::sync::Arc::new(data)).map_err(|e| match e {
        LoadPdfError::Decryption(d) => render_error(format!(
            "the PDF ({size} bytes) is encrypted and cannot be rendered ({d:?})"
        )),
        LoadPdfError::Invalid => render_error(format!(
            "the PDF ({size} bytes) does not parse (damaged or not a PDF)"
        )),
    })?;
    let pages = pdf.pages();
    if pages.is_empty() {
        return Err(render_error(format!("the PDF ({size} bytes) has no pages")));
    }
    if pages.len() > PDF_MAX_PAGES {
        return Err(render_error(format!(
            "the PDF has {} pages; at most {PDF_MAX_PAGES} are rendered as images \
             (send it as a file part with --pdf file, or split it)",
            pages.len()
        )));
    }
    let cache = RenderCache::new();
    let interpreter = InterpreterSettings::default();
    let settings = RenderSettings::default();
    let mut out = Vec::with_capacity(pages.len());
    for (i, page) in pages.iter().enumerate() {
        let (w, h) = page.render_dimensions();
        let long = w.max(h);
        if !(long.is_finite() && w >= 1.0 && h >= 1.0) {
            return Err(render_error(format!(
                "page {} of the PDF has no usable size ({w} × {h} pt)",
                i + 1
            )));
        }
        let scale = PDF_PAGE_LONG_SIDE as f32 / long;
        let pixmap = hayro::render(
            page,
            &cache,
            &interpreter,
            &settings,
            &PixmapSettings {
                x_scale: scale,
                y_scale: scale,
                bg_color: WHITE,
            },
        );
        if pixmap.width() == 0 || pixmap.height() == 0 {
            return Err(render_error(format!(
                "page {} of the PDF rendered to an empty image",
                i + 1
            )));
        }
        let png = pixmap
            .into_png()
            .map_err(|e| render_error(format!("page {} of the PDF: PNG encoding: {e}", i + 1)))?;
        out.push(png);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_and_print() {
        assert_eq!("file".parse::<PdfMode>(), Ok(PdfMode::File));
        assert_eq!("images".parse::<PdfMode>(), Ok(PdfMode::Images));
        assert!(
            "pages"
                .parse::<PdfMode>()
                .unwrap_err()
                .contains("images or file")
        );
        assert_eq!(PdfMode::default().to_string(), "images");
        assert_eq!(serde_json::to_value(PdfMode::File).unwrap(), "file");
    }

    #[test]
    fn garbage_is_a_render_error() {
        for bad in [&b""[..], b"%PDF-1.4\n", b"hello", b"%PDF-1.7\n1 0 obj\n<<"] {
            let e = render_pdf_pages(bad).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Render, "{e}");
            assert!(!e.is_retryable());
        }
    }
}
