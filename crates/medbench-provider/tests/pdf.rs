//! PDFs to OpenAI-compatible endpoints: rendered page images by default, a `file` part on
//! request, a clear error for a damaged PDF; Anthropic keeps its document blocks.

mod common;

use std::path::PathBuf;

use base64::Engine;
use common::{client, fake, reliable, req};
use medbench_provider::{
    Anthropic, ChatRequest, ErrorKind, PDF_MAX_PAGES, PDF_PAGE_LONG_SIDE, Part, PdfMode, Provider,
    render_pdf_pages, request_hash,
};

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

use medbench_fake_llm::tiny_pdf;

fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(png.starts_with(PNG_SIGNATURE), "not a PNG");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&png[16..20]), be(&png[20..24]))
}

fn pdf_request(pdf: &[u8]) -> ChatRequest {
    let mut r = req("Transcribe the report.");
    r.messages[0].parts.push(Part::Image {
        media_type: "application/pdf".into(),
        data: pdf.to_vec(),
    });
    r
}

fn decode_data_url(url: &str) -> Vec<u8> {
    let b64 = url
        .strip_prefix("data:image/png;base64,")
        .unwrap_or_else(|| panic!("not a PNG data URL: {}", &url[..url.len().min(40)]));
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
}

#[test]
fn the_official_medocr_reports_render_to_one_png_per_page() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/medbench-v4-format/multimodal/MedOCR/20241126-CT/图文报告");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("SKIPPED: no MedOCR sample PDFs at {}", dir.display());
        return;
    };
    let mut seen = 0;
    for e in entries {
        let path = e.unwrap().path();
        if path.extension().and_then(|x| x.to_str()) != Some("pdf") {
            continue;
        }
        let pdf = std::fs::read(&path).unwrap();
        // Both samples are one cropped page (Chrome's PDF of a scanned CT report).
        let count = String::from_utf8_lossy(&pdf).matches("/Type/Page/").count();
        let pages = render_pdf_pages(&pdf).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(pages.len(), count, "{}", path.display());
        for png in &pages {
            let (w, h) = png_size(png);
            assert_eq!(w.max(h), PDF_PAGE_LONG_SIDE, "{}", path.display());
            assert!(w.min(h) > 800, "{w}×{h}: the page keeps its aspect");
            // A scanned report is not a blank page: the PNG carries real content.
            assert!(png.len() > 50_000, "{} bytes", png.len());
        }
        seen += 1;
    }
    if seen == 0 {
        eprintln!("SKIPPED: no PDF under {}", dir.display());
    }
}

#[test]
fn pages_come_out_in_order_and_too_many_are_refused() {
    let pages = render_pdf_pages(&tiny_pdf(3)).unwrap();
    assert_eq!(pages.len(), 3);
    for p in &pages {
        assert_eq!(png_size(p), (1130, 1600), "A4 at a 1600 px long side");
    }
    assert!(
        pages[0] != pages[1] && pages[1] != pages[2],
        "each page its own"
    );
    let e = render_pdf_pages(&tiny_pdf(PDF_MAX_PAGES + 1)).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Render);
    assert!(
        e.message.contains(&format!("{} pages", PDF_MAX_PAGES + 1))
            && e.message.contains("--pdf file"),
        "{e}"
    );
    assert_eq!(
        render_pdf_pages(&tiny_pdf(PDF_MAX_PAGES)).unwrap().len(),
        PDF_MAX_PAGES
    );
}

#[tokio::test]
async fn an_n_page_pdf_goes_as_n_image_parts_after_the_text() {
    let server = fake(vec![]).await;
    let pdf = tiny_pdf(3);
    let original = pdf_request(&pdf);
    let hash = request_hash("openai", &original);
    let p = reliable(&server);
    let prepared = p.prepare(original.clone()).unwrap();
    // The hash is taken of the request as built: the original PDF, not its pages.
    assert_eq!(request_hash("openai", &original), hash);
    assert_ne!(request_hash("openai", &prepared), hash);
    p.complete(&prepared).await.unwrap();

    let reqs = server.requests();
    let parts = reqs[0].body["messages"][0]["content"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(parts.len(), 4, "text and three pages");
    assert_eq!(parts[0]["type"], "text");
    let expected = render_pdf_pages(&pdf).unwrap();
    for (i, part) in parts[1..].iter().enumerate() {
        assert_eq!(part["type"], "image_url");
        let url = part["image_url"]["url"].as_str().unwrap();
        assert_eq!(decode_data_url(url), expected[i], "page {} in order", i + 1);
    }

    // Unprepared, the same request is rendered at send time and goes out the same way.
    client(&server).complete(&original).await.unwrap();
    assert_eq!(server.requests()[1].body, reqs[0].body);
}

#[tokio::test]
async fn file_mode_sends_the_pdf_itself() {
    let server = fake(vec![]).await;
    let pdf = tiny_pdf(2);
    let p = client(&server).with_pdf(PdfMode::File);
    let r = p.prepare(pdf_request(&pdf)).unwrap();
    p.complete(&r).await.unwrap();
    let parts = &server.requests()[0].body["messages"][0]["content"];
    assert_eq!(parts.as_array().unwrap().len(), 2);
    assert_eq!(parts[1]["type"], "file");
    let data = parts[1]["file"]["file_data"].as_str().unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&pdf);
    assert_eq!(data, format!("data:application/pdf;base64,{b64}"));
    assert_eq!(parts[1]["file"]["filename"], "document.pdf");
}

#[tokio::test]
async fn a_damaged_pdf_is_a_render_error_and_nothing_is_sent() {
    let server = fake(vec![]).await;
    let mut damaged = tiny_pdf(2);
    damaged.truncate(40);
    let p = reliable(&server);
    let e = p.prepare(pdf_request(&damaged)).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Render);
    assert_eq!(e.kind.as_str(), "render");
    assert!(e.message.contains("does not parse"), "{e}");
    let e = p.complete(&pdf_request(b"not a pdf")).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Render);
    assert_eq!(e.attempts, 1, "a render error is not retried");
    assert_eq!(server.total_requests(), 0, "nothing sent");
}

#[tokio::test]
async fn anthropic_still_gets_the_pdf_as_a_document() {
    let server = fake(vec![]).await;
    let pdf = tiny_pdf(2);
    let a = Anthropic::new(server.base_url());
    let r = a.prepare(pdf_request(&pdf)).unwrap();
    a.complete(&r).await.unwrap();
    let block = &server.requests()[0].body["messages"][0]["content"][1];
    assert_eq!(block["type"], "document");
    assert_eq!(block["source"]["media_type"], "application/pdf");
    let sent = block["source"]["data"].as_str().map(str::to_owned);
    assert_eq!(
        sent.map(|s| base64::engine::general_purpose::STANDARD.decode(s).unwrap()),
        Some(pdf)
    );
}
