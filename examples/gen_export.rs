//! Generates a realistic helpdesk export for benchmarks and demos:
//! `cargo run --release --example gen_export -- --rows 1000000 --style zendesk -o export.csv`
//!
//! Tickets are assembled from phrase pools covering every category of the default policy,
//! with multi-line descriptions (a few hundred bytes median), greetings and signatures, and a
//! long tail of pasted logs. Output is deterministic for a given `--seed`.

use clap::{Parser, ValueEnum};
use std::io::Write;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Style {
    Zendesk,
    Servicenow,
    Jira,
    Freshdesk,
}

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value_t = 100_000)]
    rows: u64,
    #[arg(long, value_enum, default_value = "zendesk")]
    style: Style,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Output file (default: standard output).
    #[arg(short, long)]
    output: Option<std::path::PathBuf>,
}

/// SplitMix64: small, fast, deterministic; enough for picking phrases.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const DISTROS: &[&str] = &[
    "Ubuntu 22.04",
    "Ubuntu 20.04",
    "ubuntu 24.04 LTS",
    "RHEL 9.2",
    "RHEL 8",
    "Red Hat 7.9",
    "Debian 12",
    "Debian 11",
    "AlmaLinux 9",
    "Rocky Linux 8.9",
    "SLES 15 SP6",
    "SLES 12 SP5",
    "Oracle Linux 8",
    "CentOS 7",
    "Ubuntu 18.04",
    "Debian 10",
    "SLES 15 SP4",
    "CentOS Stream 9",
    "Fedora 39",
    "our Linux VM",
    "the VM",
];
const TECH: &[&str] = &[
    "Apache",
    "httpd",
    "Tomcat 9",
    "PHP-FPM",
    "MySQL 8.0",
    "our Node.js app",
    "the Python service",
    "WordPress",
    "Java 17 app",
];
const OTHER_OSS: &[&str] = &[
    "nginx",
    "PostgreSQL 15",
    "Redis",
    "MongoDB",
    "Elasticsearch",
    "Jenkins",
    "Docker",
    "Kafka",
];
const FAILURES: &[&str] = &[
    "fails to start after the last update",
    "returns 502 Bad Gateway since this morning",
    "crashes with an out of memory error every few hours",
    "is very slow since we moved to the new VM size",
    "throws a connection refused error",
    "stopped working after a reboot",
];
const OPENINGS: &[&str] = &[
    "Hi team,",
    "Hello,",
    "Good morning,",
    "Dear support,",
    "Hi,",
    "",
];
const SIGNATURES: &[&str] = &[
    "Thanks,\nJohn",
    "Best regards,\nMaria Lopez\nSenior Systems Engineer | Contoso Ltd\n+44 20 7946 0958",
    "Kind regards\nPriya\n\nCONFIDENTIALITY NOTICE: This e-mail is intended only for the named recipient. Report security concerns to security@contoso.example.",
    "Cheers\nTom",
    "",
];

fn ticket(rng: &mut Rng) -> (String, String) {
    let distro = rng.pick(DISTROS);
    let tech = rng.pick(TECH);
    let (subject, body) = match rng.below(12) {
        0..=3 => {
            let failure = rng.pick(FAILURES);
            (format!("{tech} {failure}"), format!("{tech} on {distro} {failure}. We restarted the service and checked the configuration but the problem persists. Customers are affected, please advise."))
        }
        4 | 5 => (
            format!("VM not booting after resize on {distro}"),
            format!("After resizing {distro} to Standard_D4s_v5 the VM is stuck at boot and the serial console shows nothing. Boot diagnostics show the OS disk attached. We need it back today."),
        ),
        6 => {
            let oss = rng.pick(OTHER_OSS);
            (format!("{oss} problem"), format!("{oss} on {distro} keeps failing with errors in the log after the upgrade. We tried restarting it twice."))
        }
        7 => (
            "Possible compromise".into(),
            format!("We found an unknown process using 100% CPU on {distro}; it looks like a cryptominer and there are logins from unknown IPs. Please help us investigate how they got in."),
        ),
        8 => (
            "How to add a user".into(),
            format!("How do I add a new user with sudo rights on {distro} and set up key-based SSH for them?"),
        ),
        9 => (
            "Architecture question".into(),
            format!("What is the best way to design a highly available setup for {tech} across two regions? We want a recommendation before we deploy."),
        ),
        10 => (
            "Kernel question".into(),
            format!("We built our own kernel 6.9 from source on {distro} and now the data disks are not visible. The stock kernel works."),
        ),
        _ => (
            "Performance tuning".into(),
            "Which vm.dirty_ratio, swappiness and I/O scheduler settings should we use for a write-heavy workload? The kernel uses a lot of memory for page cache.".into(),
        ),
    };
    let mut description = String::new();
    let opening = rng.pick(OPENINGS);
    if !opening.is_empty() {
        description.push_str(opening);
        description.push_str("\n\n");
    }
    description.push_str(&body);
    // A long tail of pasted logs.
    if rng.chance(15) {
        let lines = if rng.chance(10) {
            20 + rng.below(200)
        } else {
            2 + rng.below(10)
        };
        description.push_str("\n\nLog excerpt:\n");
        for i in 0..lines {
            description.push_str(&format!(
                "Nov {:2} 10:{:02}:{:02} vm-web-01 {}[{}]: {}\n",
                1 + rng.below(28),
                i % 60,
                rng.below(60),
                rng.pick(&["kernel", "systemd", "httpd", "sshd", "mysqld", "java"]),
                1000 + rng.below(30000),
                rng.pick(&[
                    "Started Session 42 of user azureuser.",
                    "AH00558: Could not reliably determine the server's fully qualified domain name",
                    "Out of memory: Killed process 2211 (java) total-vm:8123456kB",
                    "Accepted publickey for azureuser from 10.0.0.4 port 50122 ssh2",
                    "InnoDB: Buffer pool(s) load completed",
                    "hv_netvsc: VF slot 1 added",
                ])
            ));
        }
    }
    let signature = rng.pick(SIGNATURES);
    if !signature.is_empty() {
        description.push_str("\n\n");
        description.push_str(signature);
    }
    (subject, description)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let out: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(std::fs::File::create(p)?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(std::io::BufWriter::new(out));
    let header: &[&str] = match args.style {
        Style::Zendesk => &[
            "Id",
            "Subject",
            "Description",
            "Status",
            "Priority",
            "Requester",
            "Created at",
            "Tags",
        ],
        Style::Servicenow => &[
            "number",
            "short_description",
            "description",
            "state",
            "priority",
            "caller_id",
            "opened_at",
        ],
        Style::Jira => &[
            "Issue key",
            "Summary",
            "Description",
            "Status",
            "Priority",
            "Reporter",
            "Created",
        ],
        Style::Freshdesk => &[
            "Ticket ID",
            "Subject",
            "Description",
            "Status",
            "Priority",
            "Contact",
            "Created time",
        ],
    };
    w.write_record(header)?;
    let mut rng = Rng(args.seed);
    for n in 0..args.rows {
        let (subject, description) = ticket(&mut rng);
        let id = match args.style {
            Style::Zendesk => format!("{}", 100_000 + n),
            Style::Servicenow => format!("INC{:07}", n),
            Style::Jira => format!("SUP-{}", n + 1),
            Style::Freshdesk => format!("{}", 5000 + n),
        };
        let status = rng.pick(&["new", "open", "pending", "solved"]);
        let priority = rng.pick(&["low", "normal", "high", "urgent"]);
        let requester = rng.pick(&[
            "Ana Silva",
            "Wei Zhang",
            "Olu Adeyemi",
            "Jean Dupont",
            "Sam O'Neil",
        ]);
        let created = format!(
            "2026-{:02}-{:02} {:02}:{:02}",
            1 + rng.below(12),
            1 + rng.below(28),
            rng.below(24),
            rng.below(60)
        );
        let mut record = vec![
            id,
            subject,
            description,
            status.to_owned(),
            priority.to_owned(),
            requester.to_owned(),
            created,
        ];
        if matches!(args.style, Style::Zendesk) {
            record.push("linux,vm".to_owned());
        }
        w.write_record(&record)?;
    }
    w.flush()?;
    Ok(())
}
