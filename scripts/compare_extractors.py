"""Compare HTML article extractors on the project's articles wrapped in realistic site chrome.

Each page holds one article (data/article.fr.txt and five of evals/public/*.txt) inside a navigation menu,
a cookie banner, a "most read" box, a newsletter signup, related links and a footer; half put the story in
<article>, half in a generic <div class="content">. Per extractor it prints paragraph recall (the share of
the article's paragraphs found in the output after whitespace normalisation), the boilerplate strings that
leaked into the output, and the time per page. readability-lxml is not a project dependency, so:

    uv run --no-sync --with readability-lxml python scripts/compare_extractors.py
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypedDict

ROOT = Path(__file__).resolve().parent.parent
REPEATS = 10  # per page, for the timing

# (article file, title, chrome language)
PAGES = [
    ("data/article.fr.txt", "Belousov : les forces russes avancent dans toutes les directions", "fr"),
    ("evals/public/squad2-en-normans.txt", "Who were the Normans? A people between two worlds", "en"),
    ("evals/public/piaf-fr-yoweri-museveni.txt", "Yoweri Museveni, trente ans de réformes en Ouganda", "fr"),
    ("evals/public/xquad-en-super-bowl-50.txt", "Super Bowl 50: how the Broncos defense won the title", "en"),
    ("evals/public/xquad-de-martin-luther.txt", "Martin Luther und die Verbreitung seiner Schriften", "en"),
    ("evals/public/xquad-zh-sky-united-kingdom.txt", "英国天空广播公司的数字电视服务", "en"),
]


class Chrome(TypedDict):
    """The site chrome of one language: the strings around the story."""

    nav: list[str]
    cookie: str
    most_read_label: str
    most_read: list[str]
    newsletter: str
    related: list[str]
    footer: str
    share: str


CHROME: dict[str, Chrome] = {
    "en": {
        "nav": ["World news", "Business and markets", "Culture and arts", "Sport results", "Opinion columns"],
        "cookie": "We use cookies to improve your experience on our site. Accept all cookies",
        "most_read_label": "Most read",
        "most_read": [
            "Heatwave warning issued for the whole southern coast",
            "Central bank holds interest rates for a third month",
            "Ten recipes for a quick weeknight dinner",
            "Striker signs record contract with northern club",
            "Why your phone battery drains faster in winter",
        ],
        "newsletter": "Sign up for our daily briefing newsletter",
        "related": ["Related: five things to know before the summit", "Read more: the timeline in pictures"],
        "footer": "© 2025 Daily Gazette Media Group. All rights reserved.",
        "share": "Share this article on Facebook",
    },
    "fr": {
        "nav": [
            "International",
            "Économie et marchés",
            "Culture et spectacles",
            "Résultats sportifs",
            "Tribunes",
        ],
        "cookie": "Nous utilisons des cookies pour améliorer votre expérience. Tout accepter",
        "most_read_label": "Les plus lus",
        "most_read": [
            "Canicule : alerte rouge sur tout le littoral méditerranéen",
            "La banque centrale maintient ses taux pour le troisième mois",
            "Dix recettes rapides pour les soirs de semaine",
            "L'attaquant signe un contrat record avec le club nordiste",
            "Pourquoi la batterie de votre téléphone se vide en hiver",
        ],
        "newsletter": "Inscrivez-vous à notre newsletter quotidienne",
        "related": [
            "À lire aussi : cinq choses à savoir avant le sommet",
            "Voir aussi : la chronologie en images",
        ],
        "footer": "© 2025 Groupe La Gazette du Matin. Tous droits réservés.",
        "share": "Partager cet article sur Facebook",
    },
}


def boilerplate(lang: str) -> list[str]:
    """Every chrome string a clean extraction must drop."""
    c = CHROME[lang]
    return [*c["nav"], c["cookie"], c["most_read_label"], *c["most_read"], c["newsletter"], *c["related"],
            c["footer"], c["share"]]  # fmt: skip


def build_page(title: str, paragraphs: list[str], lang: str, semantic: bool) -> str:
    """A news page: chrome around the story, the story in <article> or in a generic content div."""
    c = CHROME[lang]
    e = html.escape
    nav = "".join(f'<li><a href="/s/{i}">{e(t)}</a></li>' for i, t in enumerate(c["nav"]))
    most = "".join(f'<li><a href="/a/{i}">{e(t)}</a></li>' for i, t in enumerate(c["most_read"]))
    related = "".join(f'<li><a href="/r/{i}">{e(t)}</a></li>' for i, t in enumerate(c["related"]))
    body = "".join(f"<p>{e(p)}</p>" for p in paragraphs)
    story = (
        f'<h1>{e(title)}</h1><p class="byline">By Staff Writer, 12 March 2025</p>{body}'
        f'<div class="share"><a href="#">{e(c["share"])}</a></div><ul class="related">{related}</ul>'
    )
    story = f"<article>{story}</article>" if semantic else f'<div class="content">{story}</div>'
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{e(title)} | Gazette</title>'
        f'<meta property="og:title" content="{e(title)}"></head><body>'
        f'<div id="cookie-banner" class="cookies"><p>{e(c["cookie"])}</p><button>OK</button></div>'
        f'<header><a href="/">Gazette</a><nav><ul>{nav}</ul></nav></header>'
        f'<main><div class="wrapper">{story}'
        f'<aside class="most-read"><h2>{e(c["most_read_label"])}</h2><ol>{most}</ol></aside>'
        f'<div class="newsletter"><p>{e(c["newsletter"])}</p><form><input type="email"><button>OK</button>'
        f"</form></div></div></main>"
        f'<footer><p>{e(c["footer"])}</p><a href="/legal">Legal</a></footer></body></html>'
    )


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def with_trafilatura(precision: bool) -> Callable[[str], tuple[str, str]]:
    import trafilatura
    from trafilatura.settings import Document

    def run(page: str) -> tuple[str, str]:
        doc = trafilatura.bare_extraction(
            page, favor_precision=precision, include_comments=False, include_tables=False, with_metadata=True
        )
        # as_dict=False: a Document or None, never the dict of the return type's union
        return (doc.title or "", doc.text or "") if isinstance(doc, Document) else ("", "")

    return run


def with_readability(page: str) -> tuple[str, str]:
    import lxml.html  # type: ignore[import-untyped]  # lxml ships no type hints (lxml-stubs not installed)
    from readability import Document  # type: ignore[import-not-found]  # readability-lxml: only via uv --with

    doc = Document(page)
    tree = lxml.html.fromstring(doc.summary(html_partial=True))
    blocks = tree.xpath("//p|//h1|//h2|//h3|//li")
    return doc.short_title(), "\n".join(b.text_content() for b in blocks)


def main() -> None:
    pages = []
    for i, (path, title, lang) in enumerate(PAGES):
        text = (ROOT / path).read_text(encoding="utf-8")
        paragraphs = [norm(p) for p in text.split("\n\n") if p.strip()]
        pages.append((title, paragraphs, lang, build_page(title, paragraphs, lang, semantic=i % 2 == 0)))
    extractors: dict[str, Callable[[str], tuple[str, str]]] = {
        "trafilatura (default)": with_trafilatura(False),
        "trafilatura (favor_precision)": with_trafilatura(True),
        "readability-lxml": with_readability,
    }
    print(f"{len(pages)} pages, {sum(len(p[1]) for p in pages)} paragraphs\n")
    print(f"{'extractor':32} {'recall':>8} {'leaked':>8} {'titles':>7} {'ms/page':>8}")
    for name, extract in extractors.items():
        extract(pages[0][3])  # warm-up: imports and lazy initialisation are not per-page costs
        found = total = leaked = chrome = titles = 0
        elapsed = 0.0
        leaks: set[str] = set()
        for title, paragraphs, lang, page in pages:
            start = time.perf_counter()
            for _ in range(REPEATS):
                got_title, text = extract(page)
            elapsed += (time.perf_counter() - start) / REPEATS
            out = norm(text)
            found += sum(p in out for p in paragraphs)
            total += len(paragraphs)
            strings = boilerplate(lang)
            leaked += sum(s in out for s in strings)
            leaks.update(s for s in strings if s in out)
            chrome += len(strings)
            titles += norm(got_title) == title
        print(
            f"{name:32} {found / total:8.1%} {f'{leaked}/{chrome}':>8} {f'{titles}/{len(pages)}':>7}"
            f" {1000 * elapsed / len(pages):8.1f}"
        )
        if leaks:
            print(f"{'':32} leaked: {'; '.join(sorted(leaks))}")


if __name__ == "__main__":
    main()
