//! What a model actually sees for each kind of item.

use medbench_core::Item;
use medbench_eval::render::Renderer;
use medbench_provider::{Part, Role, Sampling};

fn item(json: serde_json::Value) -> Item {
    serde_json::from_value(json).unwrap()
}

fn mcq(tags: &[&str], lang: &str) -> Item {
    item(serde_json::json!({
        "id": "T/1", "track": "llm", "dimension": "knowledge_qa", "language": lang, "tags": tags,
        "question": "Which drug reverses heparin?",
        "format": {"type": "single_choice", "options": [{"label": "A", "text": "Protamine sulfate"}, {"label": "B", "text": "Vitamin K"}]},
        "reference": {"answer": "A"}, "provenance": {"source": "t"}
    }))
}

#[test]
fn bare_questions_get_options_and_a_format_instruction_in_their_language() {
    let r = Renderer::new(None, None).unwrap();
    let en = r.text(&mcq(&[], "en")).unwrap();
    assert_eq!(
        en,
        "Which drug reverses heparin?\n\nA. Protamine sulfate\nB. Vitamin K\n\nAnswer with the letter of the single best option in angle brackets, e.g. <A>."
    );
    let zh = r.text(&mcq(&[], "zh")).unwrap();
    assert!(
        zh.ends_with("请只回答一个最佳选项的字母，写在尖括号中，例如<A>。"),
        "{zh}"
    );
}

#[test]
fn instructed_items_keep_their_own_instruction_and_verbatim_items_are_sent_as_is() {
    let r = Renderer::new(None, None).unwrap();
    let t = r.text(&mcq(&["prompt:instructed"], "en")).unwrap();
    assert!(
        t.contains("A. Protamine sulfate") && !t.contains("angle brackets"),
        "{t}"
    );
    let t = r.text(&mcq(&["prompt:verbatim"], "en")).unwrap();
    assert_eq!(t, "Which drug reverses heparin?");
}

#[test]
fn demo_items_render_without_duplicated_instructions() {
    let r = Renderer::new(None, None).unwrap();
    for it in medbench_demo::items() {
        let t = r.text(&it).unwrap();
        assert!(t.contains(it.question.trim()), "{}", it.id);
        assert!(
            !t.contains("Answer with the letter of the single best option"),
            "{} got a second instruction",
            it.id
        );
        if let Some(opts) = it.format.options() {
            assert!(
                t.contains(&format!("{}. {}", opts[0].label, opts[0].text)),
                "{} lacks its options",
                it.id
            );
        }
    }
}

#[test]
fn request_has_system_prompt_few_shot_turns_and_images() {
    let r = Renderer::new(None, Some("You are a careful clinician.".into())).unwrap();
    let mut it = mcq(&[], "en");
    it.media.push(medbench_core::Media {
        name: "x.png".into(),
        media_type: "image/png".into(),
        sha256: "ab".repeat(32),
    });
    let mut ex = mcq(&[], "en");
    ex.id = "T/2".into();
    ex.reference = Some(medbench_core::Reference::Choice {
        answer: vec!["B".into()],
    });
    let req = r
        .request(
            &it,
            &[ex],
            &|_| Some(vec![1, 2, 3]),
            "m",
            Sampling::default(),
        )
        .unwrap();
    let roles: Vec<Role> = req.messages.iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        [Role::System, Role::User, Role::Assistant, Role::User]
    );
    assert_eq!(req.messages[2].joined_text(), "<B>");
    assert!(
        matches!(&req.messages[3].parts[1], Part::Image { media_type, data } if media_type == "image/png" && data == &[1, 2, 3])
    );
    let missing = r
        .request(&it, &[], &|_| None, "m", Sampling::default())
        .unwrap_err();
    assert!(format!("{missing:#}").contains("media x.png is missing"));
}

#[test]
fn a_template_folder_overrides_and_changes_the_version() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("prompt.en.j2"), "Q: {{ question }}").unwrap();
    let builtin = Renderer::new(None, None).unwrap();
    let custom = Renderer::new(Some(dir.path()), None).unwrap();
    assert_eq!(
        custom.text(&mcq(&[], "en")).unwrap(),
        "Q: Which drug reverses heparin?"
    );
    assert_ne!(
        builtin.versions()["prompt.en.j2"],
        custom.versions()["prompt.en.j2"]
    );
    assert_eq!(
        builtin.versions()["prompt.zh.j2"],
        custom.versions()["prompt.zh.j2"]
    );
    std::fs::write(dir.path().join("prompt.zh.j2"), "{% if %}").unwrap();
    assert!(
        Renderer::new(Some(dir.path()), None).is_err(),
        "a broken template is refused up front"
    );
}

#[test]
fn a_task_template_applies_to_that_task_only() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("T.en.j2"), "[T] {{ question }}").unwrap();
    std::fs::write(dir.path().join("U.j2"), "[U] {{ question }}").unwrap();
    let r = Renderer::new(Some(dir.path()), None).unwrap();
    assert_eq!(
        r.text(&mcq(&[], "en")).unwrap(),
        "[T] Which drug reverses heparin?"
    );
    assert!(
        r.text(&mcq(&[], "zh")).unwrap().starts_with("Which drug"),
        "T.en.j2 is for English items only"
    );
    let mut other = mcq(&[], "zh");
    other.id = "U/1".into();
    other.task = "U".into();
    assert_eq!(r.template_for(&other), "U.j2");
}
