//! The TOML examples of docs/email.md load as what they say they are.

use brim_core::VariantPolicy;

#[test]
fn the_variant_policy_example_loads() {
    let doc = include_str!("../../docs/email.md");
    let blocks: Vec<&str> = doc
        .split("```toml\n")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap())
        .collect();
    assert!(!blocks.is_empty(), "docs/email.md has a toml example");
    for block in blocks {
        let policy: VariantPolicy = toml::from_str(block).unwrap();
        policy.validate().unwrap();
        assert_eq!(policy.variants(), vec!["problem_focused", "roi_focused"]);
    }
}
