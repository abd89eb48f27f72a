//! Engine mechanisms over a small rule set: whole words, wildcards, regexes, combinators,
//! fields, negation, zones, entities, precedence and review, evidence spans.

mod common;

use triage::{RuleSet, Ticket, Verdict, Zone};

fn classify(rules: &RuleSet, subject: &str, description: &str) -> Verdict {
    rules.classify(&Ticket::new(subject, description))
}

fn category(rules: &RuleSet, text: &str) -> String {
    classify(rules, "", text)
        .category_name(rules)
        .unwrap_or("none")
        .to_owned()
}

/// The zone of the evidence for `word` in `description` (a ticket without a subject).
fn zone_of_word(rules: &RuleSet, description: &str, word: &str) -> Zone {
    classify(rules, "", description)
        .evidence
        .iter()
        .find(|e| description[e.start..e.end].eq_ignore_ascii_case(word))
        .unwrap_or_else(|| panic!("evidence for {word:?}"))
        .zone
}

fn category_of(rules: &RuleSet, subject: &str, description: &str) -> String {
    classify(rules, subject, description)
        .category_name(rules)
        .unwrap_or("none")
        .to_owned()
}

/// The mini rules with `rules` (TOML `[[rule]]` tables) as the whole `howto` category.
fn with_howto_rules(rules: &str) -> RuleSet {
    let howto = format!("category = \"howto\"\n{rules}");
    let dir = common::rules_dir(&[("categories/howto.toml", &howto)]);
    RuleSet::load_dir(dir.path()).unwrap_or_else(|e| panic!("{e}"))
}

fn fired(rules: &RuleSet, text: &str) -> Vec<String> {
    classify(rules, "", text)
        .rules
        .iter()
        .map(|&r| rules.rule(r).id.clone())
        .collect()
}

#[test]
fn literals_match_whole_words_case_insensitively() {
    let r = common::mini();
    assert_eq!(category(&r, "Our VM was HACKED last night"), "security");
    assert_eq!(
        category(&r, "we are hackedness experts"),
        "none",
        "no partial word"
    );
    assert_eq!(
        category(&r, "Someone ran a cryptominer"),
        "security",
        "*suffix wildcard"
    );
    assert_eq!(
        category(&r, "the box is compromised"),
        "security",
        "prefix* wildcard"
    );
    assert_eq!(
        category(&r, "crypto mining everywhere"),
        "security",
        "regex"
    );
}

#[test]
fn unicode_and_punctuation_variants_normalise() {
    let r = common::mini();
    assert_eq!(
        category(&r, "We run a ＣＵＳＴＯＭ—kernel"),
        "kernel",
        "full-width and em dash"
    );
    assert_eq!(category(&r, "custom-kernel installed"), "kernel", "hyphen");
    assert_eq!(category(&r, "custom\n   kernel"), "kernel", "line wrap");
    assert_eq!(
        category(&r, "upgraded to kernel 6_9 yesterday"),
        "kernel",
        "version variant"
    );
    assert_eq!(
        category(&r, "upgraded to kernel 69 yesterday"),
        "kernel",
        "version variant without dot"
    );
}

#[test]
fn all_groups_and_exclusions() {
    let r = common::mini();
    assert_eq!(category(&r, "How do I give a user sudo?"), "howto");
    assert_eq!(
        category(&r, "How do I fix this sudo error?"),
        "none",
        "`none` vetoes"
    );
    assert_eq!(
        category(&r, "How do I do this?"),
        "none",
        "second group missing"
    );
}

#[test]
fn proximity_counts_words_between() {
    let r = common::mini();
    assert_eq!(category(&r, "we compiled our own kernel"), "kernel");
    assert_eq!(category(&r, "the kernel we built"), "kernel");
    assert_eq!(
        category(&r, "kernel logs show the app we later compiled with gcc"),
        "none"
    );
}

#[test]
fn fields_restrict_where_a_rule_looks() {
    let r = common::mini();
    let v = classify(&r, "Question about billing", "");
    assert_eq!(v.category_name(&r), Some("howto"));
    let v = classify(&r, "", "Question about billing");
    assert_eq!(v.category_name(&r), None);
}

#[test]
fn negation_cancels_and_is_kept_as_evidence() {
    let r = common::mini();
    let text = "This is not a hacked VM; Tomcat fails to start";
    let v = classify(&r, "", text);
    assert_eq!(v.label_name(&r), "in-scope");
    assert_eq!(v.category_name(&r), Some("oss"));
    let negated: Vec<_> = v.evidence.iter().filter(|e| e.negated).collect();
    assert_eq!(negated.len(), 1);
    assert_eq!(&text[negated[0].start..negated[0].end], "hacked");
    assert!(!negated[0].counted);
}

#[test]
fn negation_scope_ends_at_clause_breaks_and_window() {
    let r = common::mini();
    assert_eq!(
        category(&r, "We did not change anything, the server was hacked"),
        "security",
        "comma + new clause"
    );
    assert_eq!(
        category(&r, "No malware. But the box is hacked"),
        "security"
    );
    assert_eq!(
        category(&r, "not our fault, however the VM is hacked"),
        "security"
    );
    assert_eq!(
        category(
            &r,
            "not sure why but tomcat logs say one two three four five six hacked"
        ),
        "security"
    );
    assert_eq!(category(&r, "we found no sign of malware"), "none");
    assert_eq!(
        category(&r, "malware was ruled out"),
        "none",
        "backward cue"
    );
    assert_eq!(
        category(&r, "the antivirus flagged malware, a false positive"),
        "none"
    );
}

#[test]
fn a_clause_that_only_refutes_negates_the_sentence_before() {
    let r = common::mini();
    let cases = [
        (
            "My boss said the VM is hacked, like a site he read about. I don't think so: the disk filled up.",
            "none",
            "a claim answered in the next sentence",
        ),
        (
            "The VM is hacked. It isn't the disk that fails.",
            "security",
            "the refutation's clause says something else",
        ),
        (
            "The VM is hacked. Apache is slow, they say. It isn't.",
            "security",
            "only the sentence right before is refuted",
        ),
    ];
    for (text, expected, why) in cases {
        assert_eq!(category(&r, text), expected, "{why}");
    }
}

#[test]
fn pseudo_cues_negate_nothing() {
    let r = common::mini();
    assert_eq!(
        category(&r, "not only slow, the server is hacked"),
        "security"
    );
    assert_eq!(
        category(&r, "no longer booting and it got hacked"),
        "security"
    );
    assert_eq!(
        category(&r, "Tomcat does not start, custom kernel installed"),
        "kernel"
    );
    assert_eq!(
        category(&r, "we are not sure, maybe a cryptominer"),
        "security"
    );
}

#[test]
fn a_subject_the_description_negates_does_not_count() {
    let r = common::mini();
    // The subject is a headline; the description says what is so.
    let v = classify(
        &r,
        "HACKED??",
        "The VM is not hacked. Serial console broken since noon.",
    );
    assert_eq!(v.category_name(&r), Some("platform"));
    let subject = v
        .evidence
        .iter()
        .find(|e| e.field == triage::Field::Subject)
        .expect("the subject's match is kept as evidence");
    assert!(subject.negated && !subject.counted, "{subject:?}");
    // Any pattern of the rule will do: "malware" in the subject, "not hacked" below.
    assert_eq!(
        category_of(
            &r,
            "malware on the box",
            "The VM is not hacked. Serial console broken."
        ),
        "platform"
    );
    // Where the description also says it plainly, or says nothing of it, the subject counts.
    assert_eq!(
        category_of(&r, "hacked", "not sure how, but the VM was hacked"),
        "security"
    );
    assert_eq!(
        category_of(&r, "hacked", "Serial console broken."),
        "security"
    );
}

#[test]
fn negatable_false_ignores_negation() {
    let r = common::mini();
    assert_eq!(category(&r, "no segfault today"), "oss");
}

#[test]
fn zones_keep_boilerplate_out() {
    let r = common::mini();
    let text = "Tomcat fails to start on boot.\n\nBest regards\nJane\nSecurity team: report hacked accounts";
    let v = classify(&r, "", text);
    assert_eq!(v.category_name(&r), Some("oss"));
    assert!(v
        .evidence
        .iter()
        .any(|e| e.zone == Zone::Signature && &text[e.start..e.end] == "hacked"));

    let text = "Serial console shows nothing.\n\nOn Mon, 3 Nov 2025, Bob <b@x.io> wrote:\n> our box was hacked\n";
    assert_eq!(category(&r, text), "platform");

    let text =
        "Serial console is blank.\n\nSECURITY NOTICE this mail may contain malware\nscanned.";
    assert_eq!(category(&r, text), "platform");
}

#[test]
fn a_quoted_message_pasted_first_ends_at_a_separator() {
    let r = common::mini();
    // The vendor's reply is pasted on top; the customer's own words follow the separator.
    let text =
        "On Mon, 3 Nov 2025, Vendor wrote:\nplease reboot\n-----\nour box was hacked overnight";
    assert_eq!(category(&r, text), "security");
    // Nothing but a quoted message: it is the problem statement.
    assert_eq!(
        category(
            &r,
            "On Mon, 3 Nov 2025, Bob wrote:\nour box was hacked overnight"
        ),
        "security"
    );
    // A reply quoted below the customer's words stays quoted to the end, separators and all.
    let text = "Serial console shows nothing.\n\nOn Mon, 3 Nov 2025, Bob wrote:\nhello\n-----\nour box was hacked";
    assert_eq!(category(&r, text), "platform");
}

#[test]
fn host_names_holding_a_distribution_are_not_mentions() {
    let r = common::mini();
    let v = classify(
        &r,
        "",
        "Serial console broken on app-centos-7 and web-ubuntu-18",
    );
    assert!(v.entities.is_empty(), "{:?}", v.entities);
    assert_eq!(category(&r, "Serial console broken on centos 7"), "distro");
}

#[test]
fn words_inside_web_addresses_do_not_fire() {
    let r = common::mini();
    let url = "https://docs.example.com/guides/ubuntu-1804-and-centos";
    let text = format!("Serial console broken, I followed {url} to set it up.");
    let v = classify(&r, "", &text);
    assert_eq!(v.category_name(&r), Some("platform"));
    let ubuntu = v
        .entities
        .iter()
        .find(|e| &text[e.start..e.end] == "ubuntu")
        .expect("mention inside the link is still extracted");
    assert_eq!(ubuntu.zone, Zone::Link);
    // A literal link marker covers the whole run of non-spaces around it.
    assert_eq!(
        category(
            &r,
            "Serial console broken, see www.example.com/hacked-howto"
        ),
        "platform"
    );
    // Outside the address the same words count.
    assert_eq!(
        category(&r, "see https://example.com/faq our ubuntu 18.04 box"),
        "distro"
    );
}

#[test]
fn what_a_system_was_upgraded_from_does_not_fire() {
    let r = common::mini();
    // The starting point of a move is history; what it moved to is what runs.
    let text = "Serial console broken since we moved from centos 7 to rhel 9";
    let v = classify(&r, "", text);
    assert_eq!(v.category_name(&r), Some("platform"), "{:?}", v.entities);
    let centos = v
        .entities
        .iter()
        .find(|e| &text[e.start..e.end] == "centos")
        .expect("the old system is still extracted");
    assert_eq!(centos.zone, Zone::History);
    // In the subject line too.
    assert_eq!(
        classify(&r, "moved from centos 7 to rhel 9", "serial console broken").category_name(&r),
        Some("platform")
    );
    // A bare release after the arrow upgrades the same distribution: only the old number is
    // history, and the mention carries the release it went to.
    let v = classify(
        &r,
        "",
        "Serial console broken after going from ubuntu 22 to 23",
    );
    assert_eq!(v.entities.len(), 1, "{:?}", v.entities);
    assert_eq!(v.entities[0].zone, Zone::Body);
    assert_eq!(v.category_name(&r), Some("distro"));
    assert!(!v.entities[0].inside);
    let v = classify(
        &r,
        "",
        "Serial console broken after going from ubuntu 18 to 22.04",
    );
    assert!(v.entities[0].inside, "{:?}", v.entities);
    assert_eq!(v.category_name(&r), Some("platform"));
    // Without a destination, "from" is just a word.
    assert_eq!(
        category(&r, "Serial console errors from centos 7 hosts"),
        "distro"
    );
}

#[test]
fn a_forwarded_banner_is_not_the_customer_writing_and_three_dashes_are_no_signature() {
    let rules = RuleSet::embedded().unwrap();
    // A forwarded e-mail on top, a separator, then the customer's own words: those count.
    let forwarded = "---------- Forwarded message ---------\n\
        From: Kevin <kevin@example.com>\n\
        Subject: file server\n\
        every file has a new extension\n\
        ----------\n\
        Our file server VM was hit by ransomware and the files are encrypted.";
    let v = classify(&rules, "", forwarded);
    assert_eq!(
        v.category_name(&rules),
        Some("security"),
        "{:?}",
        v.evidence
    );
    // "---" is a separator, not the start of a signature: what follows is still read.
    let separated =
        "Tomcat fails to start since the update.\n---\nOur server was hacked last night.";
    assert_eq!(zone_of_word(&rules, separated, "hacked"), Zone::Body);
    assert_eq!(category(&rules, separated), "security");
}

#[test]
fn a_short_note_pointing_below_makes_the_forwarded_message_the_problem() {
    let rules = RuleSet::embedded().unwrap();
    let quoted = "> From: Jamie (junior admin)\n\
        > Our file server VM was hit by ransomware and the files are encrypted.";
    // A cover note that points at the quoted message: the message is what the ticket is about.
    let note = format!("Hi, see below, can you help?\nRegards, Fiona\n\n{quoted}");
    assert_eq!(category_of(&rules, "FW: file server", &note), "security");
    // Without the pointer, a quoted earlier message is only context.
    let reply = format!("Hi, the platform team fixed it, thank you.\nRegards, Fiona\n\n{quoted}");
    assert_ne!(category(&rules, &reply), "security");
    // A customer who writes a problem of their own, at length, keeps the quote as context.
    let long = format!(
        "See below for the history. Since this morning the Tomcat service on our RHEL 9 VM fails \
         to start after the update; catalina.out shows a bind exception on port 8443 and we did \
         not change the connector. We restarted twice and checked the disk, it is not full, and \
         the keystore is where it always was. Please help.\n\n{quoted}"
    );
    assert_eq!(category(&rules, &long), "supported-oss");
    // A forwarded message under its banner, below a sign-off and a note of some forty words from
    // someone who does not understand it: the banner ends the signature, the message is read.
    let forwarded = "Hi support, I am the managing partner and our IT person is away this month. We \
        got the message below this morning about our main server and I do not know what it means. \
        Please deal with it and tell me if we have a problem.\nRegards, Frank\n\n\
        ----- Forwarded -----\nAlert: Digital currency mining related behavior detected on app-main.";
    assert_eq!(
        zone_of_word(&rules, forwarded, "digital currency mining"),
        Zone::Body
    );
    assert_eq!(category(&rules, forwarded), "security");
}

/// A pasted e-mail that is the whole ticket (it starts with its own `From:` header) is the
/// problem statement, and its signature and disclaimer are still boilerplate.
#[test]
fn a_forwarded_message_keeps_its_own_signature_and_disclaimer() {
    let rules = RuleSet::embedded().unwrap();
    let mail = "From: Tobias <tobias@nordlys.example>\nTo: Support\n\n\
        Since Monday WordPress is very slow on our Debian 12 VM.\n\n\
        Thanks!\nTobias\n\n\
        Confidentiality notice: this e-mail may contain confidential information.\n\
        We never ask for credentials - report phishing to security@nordlys.example.\n";
    assert_eq!(zone_of_word(&rules, mail, "WordPress"), Zone::Body);
    assert_ne!(zone_of_word(&rules, mail, "phishing"), Zone::Body);
    assert_eq!(category(&rules, mail), "supported-oss");
    // The same when a short cover note points at a `>`-quoted message: the note's own sign-off
    // does not swallow the message below it.
    let note = "See below, can you help?\nRegards, Fiona\n\n\
        > Our file server VM was hit by ransomware, the files are encrypted.\n\
        > Regards\n> Jamie\n";
    assert_eq!(zone_of_word(&rules, note, "ransomware"), Zone::Body);
    assert_eq!(category(&rules, note), "security");
}

#[test]
fn a_customers_turn_in_a_pasted_chat_is_their_words_despite_its_timestamp() {
    let rules = RuleSet::embedded().unwrap();
    let chat = "[2024-06-13 08:30:14] Customer: I think our VM was hacked last night\n\
        [2024-06-13 08:31:02] Agent: Was the session still active?";
    assert_eq!(category(&rules, chat), "security");
    // The same words after a timestamp with no speaker are a pasted log line.
    let log = "Apache shows errors since the update:\n\
        [2024-06-13 08:30:14] I think our VM was hacked last night";
    assert_eq!(zone_of_word(&rules, log, "hacked"), Zone::Log);
}

#[test]
fn a_long_line_inside_a_signature_paragraph_stays_in_the_signature() {
    let r = common::mini();
    // Only the first line of a paragraph after the sign-off can be the customer writing again.
    let text = "Serial console shows nothing.\n\nBest regards\nFelix\n\nIMPORTANT: read this\n\
                accounts that were hacked or abused must be reported to the security team at once, thanks";
    assert_eq!(category(&r, text), "platform");
    let text = "Serial console shows nothing.\n\nthanks\n\n\
                Also, one more thing: I think our box was hacked last night by someone from outside";
    assert_eq!(category(&r, text), "security");
}

#[test]
fn log_lines_only_feed_rules_that_ask_for_them() {
    let r = common::mini();
    let text = "The app is down.\n[   12.345678] php: error loading module\n[   12.400000] malware scanner started";
    let v = classify(&r, "", text);
    assert_eq!(v.category_name(&r), Some("oss"), "oss rule reads logs");
    assert!(
        !v.categories
            .iter()
            .any(|&c| r.category(c).name == "security"),
        "security rule does not"
    );
}

#[test]
fn entities_are_checked_against_the_matrix() {
    let r = common::mini();
    for inside in [
        "Ubuntu 22.04",
        "ubuntu22",
        "Ubuntu 2204",
        "ubuntu 22_04",
        "jammy",
        "SLES 15 SP6",
        "sles15sp6",
        "SUSE 12 SP5",
        "RHEL8.6",
        "Red Hat 9",
        "SLES 15",
    ] {
        let v = classify(&r, "", &format!("Serial console broken on {inside}"));
        assert_eq!(v.category_name(&r), Some("platform"), "{inside} is inside");
        assert!(v.entities.iter().all(|e| e.inside), "{inside}");
        assert!(!v.entities.is_empty(), "{inside} recognised");
    }
    for outside in [
        "Ubuntu 18.04",
        "bionic",
        "ubuntu1804",
        "SLES 15 SP4",
        "sles15sp4",
        "suse 12 sp4",
        "CentOS 7",
        "centos",
        "Ubuntu 22.10",
    ] {
        let v = classify(&r, "", &format!("Serial console broken on {outside}"));
        assert_eq!(v.category_name(&r), Some("distro"), "{outside} is outside");
        assert_eq!(v.label_name(&r), "vendor-referral");
        assert!(v.vendor(&r).is_some());
    }
    assert_eq!(
        category(&r, "we do not run centos"),
        "none",
        "negated mention"
    );
}

#[test]
fn os_release_output_gives_the_release() {
    let r = common::mini();
    let pasted = |name: &str, version: &str| {
        classify(
            &r,
            "",
            &format!(
                "Serial console broken. cat /etc/os-release\nNAME=\"{name}\"\n{version}\nID=\"x\""
            ),
        )
    };
    let outside = pasted("SLES", "VERSION=\"15-SP4\"");
    assert_eq!(outside.category_name(&r), Some("distro"), "{outside:?}");
    assert_eq!(
        pasted("Ubuntu", "VERSION=\"18.04.6 LTS (Bionic Beaver)\"").category_name(&r),
        Some("distro")
    );
    let inside = pasted("Ubuntu", "VERSION_ID=\"22.04\"");
    assert_eq!(inside.category_name(&r), Some("platform"));
    assert!(inside.entities.iter().all(|e| e.inside) && !inside.entities.is_empty());
}

#[test]
fn yields_to_sets_a_category_aside() {
    let r = common::mini();
    let v = classify(&r, "", "Tomcat fails to start on CentOS 7");
    assert_eq!(v.category_name(&r), Some("distro"));
    let names: Vec<_> = v
        .categories
        .iter()
        .map(|&c| r.category(c).name.as_str())
        .collect();
    assert_eq!(
        names,
        ["oss", "distro"],
        "both reported, in precedence order"
    );
}

#[test]
fn precedence_and_review() {
    let r = common::mini();
    let v = classify(&r, "", "hacked box, custom kernel, serial console blank");
    assert_eq!(v.category_name(&r), Some("security"));
    assert!(!v.review);
    let v = classify(&r, "", "nothing to see here");
    assert_eq!(v.category, None);
    assert_eq!(v.label_name(&r), "in-scope");
    assert!(v.review, "nothing fired");
    let v = classify(&r, "", "How do I add a user? tiebreak");
    assert_eq!(v.category_name(&r), Some("howto"));
    assert!(v.review, "different labels tie in the deciding tier");
}

#[test]
fn evidence_spans_point_into_the_original_text() {
    let r = common::mini();
    let text = "Ünïcödé “prefix” — the VM’s kernel was COMPILED by us, it’s HACKED";
    let v = classify(&r, "", text);
    assert!(!v.evidence.is_empty());
    for e in &v.evidence {
        let s = &text[e.start..e.end];
        assert!(!s.is_empty());
        assert!(["kernel", "COMPILED", "HACKED"].contains(&s), "span {s:?}");
    }
}

#[test]
fn deciding_rule_gives_reason_and_vendor() {
    let r = common::mini();
    let v = classify(&r, "", "custom kernel panics");
    assert_eq!(v.reason(&r), "custom kernel");
    assert_eq!(v.vendor(&r), Some("the kernel builder"));
    assert_eq!(fired(&r, "custom kernel panics"), ["kernel.custom"]);
}

#[test]
fn classification_is_the_same_across_threads() {
    let r = common::mini();
    let texts = [
        "hacked",
        "Tomcat fails to start",
        "How do I add a user?",
        "CentOS 7 serial console",
    ];
    let expected: Vec<_> = texts.iter().map(|t| classify(&r, "", t)).collect();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..50 {
                    for (t, e) in texts.iter().zip(&expected) {
                        assert_eq!(&classify(&r, "", t), e);
                    }
                }
            });
        }
    });
}

/// Inline zones only search a field where the literal automaton saw one of their guard
/// literals, taken from the patterns and normalised as the text is: `->` reads ` >` there and
/// upper case reads lower, and the zone must still be found.
#[test]
fn inline_zones_are_found_however_their_guard_literals_are_written() {
    let language = common::LANGUAGE.replace(
        r"history = [",
        r"history = ['re:((?:\b[a-z]+\s+)\d+\s*)(?:->|→|=>)\s*[a-z]', ",
    );
    let dir = common::rules_dir(&[("language.toml", &language)]);
    let r = RuleSet::load_dir(dir.path()).unwrap();
    for text in [
        "Serial console broken since centos 7 -> rhel 9",
        "Serial console broken since CENTOS 7->RHEL 9",
        "Serial console broken since centos 7 → rhel 9",
        "Serial console broken since centos 7 => rhel 9",
    ] {
        let v = classify(&r, "", text);
        assert_eq!(
            v.category_name(&r),
            Some("platform"),
            "{text}: {:?}",
            v.entities
        );
    }
    assert_eq!(
        category(
            &r,
            "Serial console broken, see HTTPS://EXAMPLE.COM/ubuntu-1804"
        ),
        "platform"
    );
    assert_eq!(category(&r, "Serial console broken on centos 7"), "distro");
}

/// Rules that exclude the same list share its slot; each still obeys its own fields, zones,
/// negation setting and its own further exclusions.
#[test]
fn rules_sharing_an_exclusion_list_are_vetoed_on_their_own_terms() {
    let r = with_howto_rules(
        r#"
[[rule]]
id = "howto.plain"
reason = "r"
any = ["alpha"]
none = ["@failures"]

[[rule]]
id = "howto.twin"
reason = "r"
any = ["beta"]
none = ["@failures"]

[[rule]]
id = "howto.more"
reason = "r"
any = ["gamma"]
none = ["@failures", "reboot"]

[[rule]]
id = "howto.literal"
reason = "r"
negatable = false
any = ["delta"]
none = ["@failures"]
"#,
    );
    assert_eq!(
        fired(&r, "alpha beta gamma delta"),
        ["howto.plain", "howto.twin", "howto.more", "howto.literal"]
    );
    assert!(fired(&r, "alpha beta gamma delta, error")
        .iter()
        .all(|id| !id.starts_with("howto")));
    assert_eq!(
        fired(&r, "alpha beta gamma delta, reboot"),
        ["howto.plain", "howto.twin", "howto.literal"],
        "a rule's own exclusion vetoes only that rule"
    );
    assert_eq!(
        fired(&r, "alpha beta gamma delta, no error"),
        ["howto.plain", "howto.twin", "howto.more"],
        "a negated exclusion vetoes only the rule that ignores negation"
    );
}

/// A proximity exclusion vetoes only when its two sides are close, and its words are never
/// evidence of the rule.
#[test]
fn a_proximity_exclusion_vetoes_only_when_its_sides_are_close() {
    let r = with_howto_rules(
        r#"
[[rule]]
id = "howto.stack"
reason = "r"
all = [["tomcat"], ["hangs", "fails"]]

[[rule.none_near]]
a = ["postgres"]
b = ["@failures", "hangs", "down"]
within = 3
"#,
    );
    let text = "Tomcat hangs every night around two. All of its data lives in postgres.";
    let v = classify(&r, "", text);
    assert_eq!(fired(&r, text), ["howto.stack"]);
    let shown: Vec<&str> = v.evidence.iter().map(|e| &text[e.start..e.end]).collect();
    assert_eq!(
        shown,
        ["Tomcat", "hangs"],
        "the exclusion's words are not evidence"
    );
    let stack = |text: &str| fired(&r, text).contains(&"howto.stack".to_owned());
    assert!(!stack("Tomcat hangs because postgres is down"));
    assert!(!stack("Tomcat hangs; postgres shows error 53300"));
    // Like every pattern of a negatable rule, a negated side does not count.
    assert!(stack(
        "Tomcat hangs every night at two. The postgres box is not down."
    ));
    // `explain` names the stopped rule and both sides that stopped it.
    let text = "Tomcat hangs every single night around two. Then postgres is down";
    let explained = r.explain(&Ticket::new("", text));
    let stopped: Vec<(&str, Vec<&str>)> = explained
        .vetoed
        .iter()
        .map(|v| {
            let by = v.by.iter().map(|e| &text[e.start..e.end]).collect();
            (r.rule(v.rule).id.as_str(), by)
        })
        .collect();
    assert_eq!(stopped, [("howto.stack", vec!["postgres", "down"])]);
    assert!(explained.verdict.rules.is_empty());
}

/// A `fallback` rule is a weak signal: it decides only when no other rule fired.
#[test]
fn a_fallback_rule_speaks_only_when_nothing_else_fired() {
    let r = with_howto_rules(
        r#"
[[rule]]
id = "howto.topic-alone"
reason = "r"
fallback = true
any = ["timezone"]
"#,
    );
    assert_eq!(
        fired(&r, "The timezone is UTC, we want CET."),
        ["howto.topic-alone"]
    );
    assert_eq!(category(&r, "The timezone is UTC, we want CET."), "howto");
    // Any other rule firing sets it aside, whatever its category's precedence.
    let text = "Tomcat fails to start since we changed the timezone.";
    assert_eq!(fired(&r, text), ["oss.failure"]);
    assert_eq!(category(&r, text), "oss");
    // So does a release outside the matrix, a rule of the matrix.
    assert!(
        !fired(&r, "CentOS 7 box, the timezone is wrong").contains(&"howto.topic-alone".to_owned())
    );
}

/// A category file's `[all_rules]` exclusions belong to every rule of the file, besides its own.
#[test]
fn a_category_file_can_share_exclusions_among_its_rules() {
    let r = with_howto_rules(
        r#"
[all_rules]
none = ["homework"]
none_near = [{ a = ["cron"], b = ["is fine"], within = 2 }]

[[rule]]
id = "howto.cron"
reason = "r"
any = ["cron"]

[[rule]]
id = "howto.timezone"
reason = "r"
any = ["timezone"]
none = ["daylight saving"]
"#,
    );
    assert_eq!(fired(&r, "How do I set up cron?"), ["howto.cron"]);
    assert_eq!(
        fired(&r, "How do I change the timezone?"),
        ["howto.timezone"]
    );
    // The shared `none` stops both rules; each rule keeps its own exclusions too.
    assert!(fired(&r, "cron and timezone, for my homework").is_empty());
    assert!(fired(&r, "timezone and daylight saving").is_empty());
    // The shared `none_near` stops both as well.
    assert!(fired(&r, "The cron is fine, but how do I change the timezone?").is_empty());
}

/// `same_sentence = true` keeps a proximity clause inside one sentence: in "a plain PHP site.
/// nginx itself is fine" the words are three apart, but "is fine" is said of nginx.
#[test]
fn a_proximity_clause_can_stay_inside_one_sentence() {
    let php = |option: &str, text: &str| {
        let rules = cleared_by("php", "[\"502\"]", "[\"is fine\"]", 3, option);
        fired(&rules, text).contains(&"howto.php".to_owned())
    };
    let text = "Every request returns 502 on a plain PHP site. nginx itself is fine.";
    assert!(!php("", text));
    assert!(php("same_sentence = true", text));
    // Inside one sentence the clause still holds.
    let cleared = "Every request returns 502, and PHP is fine.";
    assert!(!php("same_sentence = true", cleared));
}

/// `negatable = false` on a proximity clause counts its negated words: "Tomcat was ruled out"
/// negates "Tomcat" (a backward cue), yet it is exactly the customer clearing Tomcat.
#[test]
fn a_proximity_clause_can_count_negated_words() {
    let rules = |option: &str| {
        cleared_by(
            "tomcat",
            "[\"504\", \"fails\"]",
            "[\"is fine\", \"ruled out\"]",
            2,
            option,
        )
    };
    let text = "The proxy returns 504. Tomcat's log shows 200s, so Tomcat was ruled out.";
    assert_eq!(fired(&rules(""), text), ["howto.tomcat"]);
    assert!(fired(&rules("negatable = false"), text).is_empty());
    // Nothing else changes: the clause still needs both sides close together.
    let far = "Tomcat fails with 504 at night. The database is fine.";
    assert_eq!(fired(&rules("negatable = false"), far), ["howto.tomcat"]);
}

/// A rule `howto.<tech>` that fires on `tech` with one of `failures`, unless `tech` is within
/// `within` words of one of `cleared`; `option` is one more line of that proximity exclusion.
fn cleared_by(tech: &str, failures: &str, cleared: &str, within: u32, option: &str) -> RuleSet {
    with_howto_rules(&format!(
        r#"
[[rule]]
id = "howto.{tech}"
reason = "r"
all = [["{tech}"], {failures}]

[[rule.none_near]]
a = ["{tech}"]
b = {cleared}
within = {within}
{option}
"#
    ))
}

/// Log lines pasted as a Markdown quote are log output, not an earlier reply; other quoted
/// lines stay quoted.
#[test]
fn quoted_log_lines_are_log_lines() {
    let r = common::mini();
    let text =
        "Our box, see the log:\n> 2025-11-03 10:01:02 kernel: hacked\n> you said it was hacked\n";
    let v = classify(&r, "", text);
    let zones: Vec<(&str, Zone)> = v
        .evidence
        .iter()
        .map(|e| (&text[e.start..e.end], e.zone))
        .collect();
    assert_eq!(zones, [("hacked", Zone::Log), ("hacked", Zone::Quote)]);
}

/// Chinese and Japanese put no space between words: a Latin term written against them is still a
/// whole word, while a longer Latin word still does not match.
#[test]
fn whole_words_end_at_unspaced_scripts() {
    let r = common::mini();
    assert_eq!(category(&r, "服务器有malware，怎么办"), "security");
    assert_eq!(category(&r, "サーバーがhackedされた"), "security");
    assert_eq!(category(&r, "我们用malwarebytes扫描"), "none");
    assert_eq!(category(&r, "Our malwareish test"), "none");
}

/// A release pattern of the rules runs on bytes: one ending on a class (`[^.\d]`) can stop inside
/// a multi-byte character after the release. The engine must not slice there; and a pattern that
/// refuses a third number keeps a kernel version (`Debian 6.1.99-1` in `uname -a`) from being read
/// as a release.
#[test]
fn a_release_pattern_ending_inside_a_character_is_safe() {
    let matrix = common::MATRIX.replace(
        r"release = '(?P<major>\d{2})(?:[._ ]?(?P<minor>\d{2}))?'",
        r"release = '(?P<major>\d{2})(?:\.(?P<minor>\d{2}))?(?:$|[^.\d]|\.(?:$|[^\d]))'",
    );
    let dir = common::rules_dir(&[("matrix.toml", &matrix)]);
    let r = RuleSet::load_dir(dir.path()).unwrap();
    let release = |text: &str| {
        let v = classify(&r, "", text);
        v.entities.first().map(|e| e.release.map(|r| r.to_string()))
    };
    assert_eq!(release("ubuntu 18软件包 to 22"), Some(Some("18".into())));
    assert_eq!(release("ubuntu 22.04 server"), Some(Some("22.04".into())));
    assert_eq!(release("ubuntu 22.04.3 server"), Some(None));
    // What the pattern matches after the numbers is not a digit of the release: "8.1 64bit".
    assert_eq!(release("ubuntu 18 64bit"), Some(Some("18".into())));
    assert_eq!(category(&r, "ubuntu 18软件包"), "distro");
}
