"""Who reads an update in a language other than their own because it has no words in theirs:
a warning for the preview, the preflight and the console (never a block)."""

from dataclasses import dataclass

from accounts.models import LANGUAGES
from playbooks.updates.pipeline import reader_language

LANGUAGE_NAMES = dict(LANGUAGES)


@dataclass(frozen=True)
class LanguageFallback:
    """Contacts whose own language has no prepared words, and the language they get instead."""

    language: str  # the contact's own (contact's, else their client's)
    falls_back_to: str
    contacts: tuple  # names, "Name (Client)"

    @property
    def message(self):
        names = ", ".join(self.contacts[:5]) + (f" and {len(self.contacts) - 5} more" if len(self.contacts) > 5 else "")
        return (
            f"{len(self.contacts)} contact{'s' if len(self.contacts) != 1 else ''} reading "
            f"{LANGUAGE_NAMES.get(self.language, self.language)} will get "
            f"{LANGUAGE_NAMES.get(self.falls_back_to, self.falls_back_to)}: no words prepared in their language "
            f"({names})."
        )

    def as_dict(self):
        return {
            "language": self.language,
            "falls_back_to": self.falls_back_to,
            "contacts": list(self.contacts),
            "message": self.message,
        }


def language_fallbacks(*, incident, contacts, available):
    """[LanguageFallback] for `contacts` (e.g. the audience's) when an update has words in
    `available` languages only; empty when everyone reads their own language."""
    groups = {}
    available = set(available)
    for contact in contacts:
        own = contact.language or contact.client.default_language or "en"
        if own in available:
            continue
        chosen = reader_language(incident=incident, contact=contact, available=available)
        if chosen is None or chosen == own:
            continue
        groups.setdefault((own, chosen), []).append(f"{contact.name} ({contact.client.name})")
    return [
        LanguageFallback(language=own, falls_back_to=chosen, contacts=tuple(sorted(names)))
        for (own, chosen), names in sorted(groups.items())
    ]
