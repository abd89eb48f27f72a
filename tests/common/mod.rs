//! A small rules directory written into a temporary folder, so engine and CLI tests do not
//! depend on the default policy's wording. Each test may override single files.
#![allow(dead_code)]

use std::path::Path;
use tempfile::TempDir;

pub const POLICY: &str = r#"
name = "mini"
version = "1"
labels = ["in-scope", "vendor-referral", "out-of-scope"]
default_label = "in-scope"
default_reason = "nothing fired"
precedence = [["security"], ["howto", "odd"], ["kernel"], ["oss"], ["distro"], ["platform"]]

[[category]]
name = "security"
label = "out-of-scope"

[[category]]
name = "howto"
label = "out-of-scope"

[[category]]
name = "odd"
label = "in-scope"

[[category]]
name = "kernel"
label = "vendor-referral"

[[category]]
name = "oss"
label = "in-scope"
yields_to = ["distro"]

[[category]]
name = "distro"
label = "vendor-referral"

[[category]]
name = "platform"
label = "in-scope"
"#;

pub const SECURITY: &str = r#"
category = "security"

[[rule]]
id = "security.compromise"
reason = "compromised"
vendor = "an incident response partner"
any = ["hacked", "compromis*", "*miner", "re:crypto ?min(er|ing)", "malware"]
"#;

pub const HOWTO: &str = r#"
category = "howto"

[[rule]]
id = "howto.admin"
reason = "how-to"
all = [["how do i", "how to"], ["sudo", "user"]]
none = ["error"]

[[rule]]
id = "howto.subject-only"
reason = "asked in the subject"
fields = "subject"
any = ["question"]
"#;

pub const ODD: &str = r#"
category = "odd"

[[rule]]
id = "odd.tie"
reason = "in-scope in the out-of-scope tier"
any = ["tiebreak"]
"#;

pub const KERNEL: &str = r#"
category = "kernel"

[[rule]]
id = "kernel.custom"
reason = "custom kernel"
vendor = "the kernel builder"
any = ["custom kernel", "dkms"]

[[rule]]
id = "kernel.built"
reason = "self-built kernel"
[[rule.near]]
a = ["kernel"]
b = ["compiled", "built"]
within = 3

[[rule]]
id = "kernel.version"
reason = "kernel version mention"
variants = true
any = ["kernel 6.9"]
"#;

pub const OSS: &str = r#"
category = "oss"

[[rule]]
id = "oss.failure"
reason = "supported failure"
zones = ["body", "log"]
all = [["tomcat", "php"], ["@failures"]]

[[rule]]
id = "oss.blind"
reason = "negation does not cancel this one"
negatable = false
any = ["segfault"]
"#;

pub const LISTS: &str = r#"
[lists]
failures = ["error", "fails to start", "502"]
"#;

pub const PLATFORM: &str = r#"
category = "platform"

[[rule]]
id = "platform.boot"
reason = "boot problem"
any = ["stuck at boot", "won't boot", "serial console"]
"#;

pub const MATRIX: &str = r#"
category = "distro"

[[distro]]
id = "ubuntu"
name = "Ubuntu"
vendor = "Canonical"
aliases = ["ubuntu"]
release = '(?P<major>\d{2})(?:[._ ]?(?P<minor>\d{2}))?'
supported = ["20.04", "22.04", "24.04"]
codenames = { jammy = "22.04", bionic = "18.04" }
alias_codenames = { focal = "20.04", cosmic = "18.10" }
reason = "ubuntu outside"

[[distro]]
id = "sles"
name = "SLES"
vendor = "SUSE"
aliases = ["sles", "suse"]
supported = ["12 SP5", "15 SP6"]
reason = "sles outside"

[[distro]]
id = "centos"
name = "CentOS"
vendor = "CentOS Project"
aliases = ["centos"]
supported = []
reason = "centos outside"

[[distro]]
id = "rhel"
name = "RHEL"
vendor = "Red Hat"
aliases = ["rhel", "red hat"]
supported = ["*"]
reason = "never outside"
"#;

pub const LANGUAGE: &str = r#"
[negation]
window = 5
forward = ["not", "no", "never", "without", "isn't", "no sign of", "rather than", "ruled out"]
backward = ["ruled out", "false positive"]
refute = ["i don't think so", "it isn't"]
pseudo = ["not only", "no longer", "not sure", "no idea why", "re:(not|n't) (start|work|boot)\\w*"]
terminators = ["but", "however", ", the", ", it"]

[zones]
quote_prefix = [">"]
quote_header = ['re:^on .{1,200} wrote:$']
signature = ["--", "best regards", "thanks"]
disclaimer = ["security notice", "intended recipient"]
log_line = ['re:^\s*\[\s*\d+\.\d+\]', 're:^\s*\d{4}-\d{2}-\d{2} ']
link = ['re:\bhttps?://\S+', 'www.']
history = ['re:\b(from\s+[a-z]+\s+\d+)\s+to\s+[a-z]', 're:\bfrom\s+[a-z]+\s+(\d+)\s+to\s+\d']

[upgrades]
to = ["to"]
"#;

/// Writes the mini rules into a fresh temporary directory, with `overrides` as
/// (relative path, contents) replacing or adding files.
pub fn rules_dir(overrides: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let files: &[(&str, &str)] = &[
        ("policy.toml", POLICY),
        ("matrix.toml", MATRIX),
        ("language.toml", LANGUAGE),
        ("lists.toml", LISTS),
        ("categories/security.toml", SECURITY),
        ("categories/howto.toml", HOWTO),
        ("categories/odd.toml", ODD),
        ("categories/kernel.toml", KERNEL),
        ("categories/oss.toml", OSS),
        ("categories/platform.toml", PLATFORM),
    ];
    for (name, text) in files.iter().chain(overrides) {
        write(dir.path(), name, text);
    }
    dir
}

pub fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

pub fn mini() -> triage::RuleSet {
    let dir = rules_dir(&[]);
    triage::RuleSet::load_dir(dir.path()).unwrap_or_else(|e| panic!("mini rules load: {e}"))
}
