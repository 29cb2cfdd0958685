"""PII found in CV text and replaced by placeholders."""

from shortlist.ingest.pii import find_pii, guess_name, redact

CV = (
    "Grace Hopper\n"
    "grace.hopper@example.com | +44 20 7946 0958 | (555) 123-4567\n"
    "https://grace.dev · linkedin.com/in/gracehopper · www.example.org/cv\n"
    "Experience 2015-2023: Hopper led the compiler team; 12.03.2019 promoted\n"
)


def test_emails_phones_urls_and_the_name_are_redacted() -> None:
    spans = find_pii(CV)
    redacted = redact(CV, spans)
    assert redacted.splitlines() == [
        "[NAME]",
        "[EMAIL] | [PHONE] | [PHONE]",
        "[URL] · [URL] · [URL]",
        "Experience 2015-2023: [NAME] led the compiler team; 12.03.2019 promoted",
    ]
    assert [CV[s.start : s.end] for s in spans if s.kind == "email"] == ["grace.hopper@example.com"]
    assert spans == sorted(spans, key=lambda s: s.start)


def test_name_from_the_field_wins_over_the_heading() -> None:
    text = "CURRICULUM VITAE\nContact: J. Smith, jsmith@example.com\nSmith built pipelines."
    assert guess_name(text) is None
    redacted = redact(text, find_pii(text, name="John Smith"))
    assert redacted == "CURRICULUM VITAE\nContact: J. [NAME], [EMAIL]\n[NAME] built pipelines."


def test_headings_and_prose_are_no_names() -> None:
    assert guess_name("Professional Summary\nGrace Hopper") is None
    assert guess_name("I build compilers for a living") is None
    assert guess_name("\n  Ada Lovelace-Byron\nLondon") == "Ada Lovelace-Byron"


def test_postal_addresses_and_dates_of_birth() -> None:
    text = (
        "Jo Bloggs\n221B Baker Street, London NW1 6XE\nAddress: 12 rue de la Paix, 75002 Paris\n"
        "Date of birth: 10/12/1985\nBorn 3 March 1990 in Leeds\n1600 Pennsylvania Avenue NW, Washington, DC 20500\n"
        "Musterstraße 12, 10115 Berlin\nExperience\nManaged 25 staff across 3 sites from 2019 to 2023.\n"
        "St. Johns College, 1975 St. Johns Road Runners club"
    )
    spans = find_pii(text)
    found = [(s.kind, text[s.start : s.end]) for s in spans if s.kind in ("address", "birth_date")]
    assert found == [
        ("address", "221B Baker Street, London NW1 6XE"),
        ("address", "12 rue de la Paix, 75002 Paris"),
        ("birth_date", "10/12/1985"),
        ("birth_date", "3 March 1990"),
        ("address", "1600 Pennsylvania Avenue NW, Washington, DC 20500"),
        ("address", "Musterstraße 12, 10115 Berlin"),
    ]
    redacted = redact(text, spans)
    assert "Baker" not in redacted and "1985" not in redacted and "Pennsylvania" not in redacted
    assert "Managed 25 staff across 3 sites from 2019 to 2023." in redacted
    assert "[ADDRESS]" in redacted and "[BIRTH_DATE]" in redacted
