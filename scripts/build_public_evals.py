"""Build the public evaluation sets under evals/public/ from raw public QA data files.

Usage:
    python3 scripts/build_public_evals.py RAW_DIR [--out evals/public]

RAW_DIR must hold the files fetched from the public sources (this script downloads nothing; see
evals/public/README.md for the repository, path and commit of each file):

    RAW_DIR/squad-explorer-v2.0-dev/index.html     SQuAD 2.0 dev explorer: title order
    RAW_DIR/squad-explorer-v2.0-dev/<Title>.html   SQuAD 2.0 dev explorer: one page per title
    RAW_DIR/xquad.<lang>.json                      XQuAD, for en es de zh ru ar vi
    RAW_DIR/piaf-v1.0.json                         PIAF v1.0 (French)

For every selected title it writes <name>.txt (the article: paragraphs separated by one blank line) and
<name>.jsonl (questions in the project's eval format). The selection rule is documented in
evals/public/README.md and implemented in build_sets(); the output is deterministic.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

MIN_CHARS = 2500
MAX_CHARS = 4500
MAX_ANSWERABLE = 25
MAX_PER_PARAGRAPH = 4
MAX_UNANSWERABLE = 12
MAX_UNANSWERABLE_PER_PARAGRAPH = 3
CROSS_EVERY = 3  # answerable question k with k % CROSS_EVERY == CROSS_EVERY - 1 is cross-lingual
CROSS_LANGS = ["en", "de", "es", "ru", "zh", "ar", "vi"]
XQUAD_LANGS = ["en", "es", "de", "zh", "ru", "ar", "vi"]
XQUAD_ARTICLE_LANGS = ["en", "es", "de", "zh"]
XQUAD_HELDOUT_LANGS = ["en"]
SQUAD_EVAL, SQUAD_HELDOUT = 2, 1
PIAF_EVAL, PIAF_HELDOUT = 1, 1


@dataclass
class Question:
    """One question of a source data set, with its gold answer texts (empty when unanswerable)."""

    qid: str
    text: str
    answers: list[str]
    impossible: bool = False


@dataclass
class Paragraph:
    """One context paragraph and its questions."""

    context: str
    questions: list[Question] = field(default_factory=list)


@dataclass
class Title:
    """One Wikipedia title of a source data set."""

    title: str
    paragraphs: list[Paragraph]


@dataclass
class EvalSet:
    """One output set: an article and its questions."""

    name: str
    source: str
    title: str
    language: str
    heldout: bool
    paragraphs: list[str]
    rows: list[dict[str, object]]


def clean(text: str) -> str:
    """Normalise a context or answer: no line breaks inside a paragraph, no outer spaces."""
    return re.sub(r"\s*\n\s*", " ", text).strip()


def dedupe(items: list[str]) -> list[str]:
    """Drop empty and repeated strings, keeping the first occurrence's order."""
    seen: list[str] = []
    for item in items:
        if item and item not in seen:
            seen.append(item)
    return seen


def slug(text: str) -> str:
    """ASCII lower-case file-name slug of a title."""
    text = unicodedata.normalize("NFKD", text)
    text = text.encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


# ---------------------------------------------------------------------------------------------- readers


def read_squad_json(path: Path) -> list[Title]:
    """Read a SQuAD-format JSON file (XQuAD, PIAF) into titles."""
    data = json.loads(path.read_text(encoding="utf-8"))
    titles = []
    for article in data["data"]:
        paragraphs = []
        for para in article["paragraphs"]:
            questions = [
                Question(
                    qid=qa["id"],
                    text=clean(qa["question"]),
                    answers=dedupe([clean(a["text"]) for a in qa.get("answers", [])]),
                    impossible=bool(qa.get("is_impossible", False)),
                )
                for qa in para["qas"]
            ]
            paragraphs.append(Paragraph(clean(para["context"]), questions))
        titles.append(Title(clean(re.sub(r"</?i>", "", article["title"])), paragraphs))
    return titles


class ExplorerPageParser(HTMLParser):
    """Parse one SQuAD explorer article page: <pre> contexts, qa-wrap questions and answer spans."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.paragraphs: list[Paragraph] = []
        self._capture: str | None = None
        self._buf: list[str] = []
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        classes = (attr.get("class") or "").split()
        if self._capture is not None:
            self._depth += 1
            return
        if tag == "h1" and attr.get("id") == "title":
            self._start("title")
        elif tag == "pre":
            self._start("context")
        elif tag == "div" and "qa-wrap" in classes and self.paragraphs:
            self.paragraphs[-1].questions.append(Question(qid=attr.get("data-id") or "", text="", answers=[]))
        elif tag == "strong" and "question" in classes:
            self._start("question")
        elif tag == "span" and "answer" in classes:
            self._start("answer")
        elif tag == "span" and "no-answer" in classes:
            self.paragraphs[-1].questions[-1].impossible = True

    def _start(self, what: str) -> None:
        self._capture, self._buf, self._depth = what, [], 0

    def handle_endtag(self, tag: str) -> None:
        if self._capture is None:
            return
        if self._depth:
            self._depth -= 1
            return
        text, what = "".join(self._buf), self._capture
        self._capture = None
        if what == "title":
            self.title = text.strip()
        elif what == "context":
            self.paragraphs.append(Paragraph(clean(text)))
        elif what == "question":
            self.paragraphs[-1].questions[-1].text = clean(text)
        elif what == "answer":
            self.paragraphs[-1].questions[-1].answers.append(clean(text))

    def handle_data(self, data: str) -> None:
        if self._capture is not None:
            self._buf.append(data)


def read_squad_explorer(folder: Path) -> list[Title]:
    """Read the SQuAD 2.0 dev explorer pages, in the order of the explorer's index page."""
    index = (folder / "index.html").read_text(encoding="utf-8")
    names = dedupe(re.findall(r'href="/SQuAD-explorer/explore/v2\.0/dev/([^"?/]+\.html)"', index))
    titles = []
    for name in names:
        parser = ExplorerPageParser()
        parser.feed((folder / name).read_text(encoding="utf-8"))
        parser.close()
        for para in parser.paragraphs:
            for q in para.questions:
                q.answers = dedupe(q.answers)
        titles.append(Title(parser.title or name.removesuffix(".html"), parser.paragraphs))
    return titles


# ---------------------------------------------------------------------------------------------- selection


def article_prefix(paragraphs: list[str]) -> int:
    """Number of leading paragraphs whose blank-line-joined text stays within MAX_CHARS (0: too short)."""
    n, size = 0, -2
    for text in paragraphs:
        if size + 2 + len(text) > MAX_CHARS:
            break
        size += 2 + len(text)
        n += 1
    return n if size >= MIN_CHARS else 0


def pick_answerable(paragraphs: list[Paragraph]) -> list[tuple[int, Question]]:
    """Answerable questions in data-set order, at most min(4, 25 // paragraphs) per paragraph."""
    per_par = min(MAX_PER_PARAGRAPH, max(1, MAX_ANSWERABLE // max(1, len(paragraphs))))
    picked = []
    for i, para in enumerate(paragraphs):
        qs = [q for q in para.questions if not q.impossible and q.answers]
        picked += [(i, q) for q in qs[:per_par]]
    return picked[:MAX_ANSWERABLE]


def pick_unanswerable(paragraphs: list[Paragraph]) -> list[tuple[int, Question]]:
    """Unanswerable questions in data-set order, at most 3 per paragraph and 12 in all."""
    picked = []
    for i, para in enumerate(paragraphs):
        qs = [q for q in para.questions if q.impossible]
        picked += [(i, q) for q in qs[:MAX_UNANSWERABLE_PER_PARAGRAPH]]
    return picked[:MAX_UNANSWERABLE]


def row(
    name: str, n: int, question: str, lang: str, kind: str, gold: int, facts: list[str]
) -> dict[str, object]:
    """One line of the eval format."""
    return {
        "id": f"{name}-{n}",
        "question": question,
        "language": lang,
        "kind": kind,
        "answerable": bool(facts),
        "gold_paragraphs": [gold],
        "facts": [facts] if facts else [],
    }


def monolingual_set(prefix: str, source: str, lang: str, title: Title, n_par: int, heldout: bool) -> EvalSet:
    """A set whose questions are all in the article's language (SQuAD 2.0, PIAF)."""
    name = ("heldout-" if heldout else "") + f"{prefix}-{lang}-{slug(title.title)}"
    paragraphs = title.paragraphs[:n_par]
    rows = []
    for i, q in pick_answerable(paragraphs):
        rows.append(row(name, len(rows) + 1, q.text, lang, "fact", i, q.answers))
    for i, q in pick_unanswerable(paragraphs):
        rows.append(row(name, len(rows) + 1, q.text, lang, "adversarial", i, []))
    return EvalSet(name, source, title.title, lang, heldout, [p.context for p in paragraphs], rows)


def xquad_set(xquad: dict[str, list[Title]], index: int, lang: str, n_par: int, heldout: bool) -> EvalSet:
    """An XQuAD set: the article in `lang`, every third answerable question in another language."""
    title = xquad[lang][index]
    name = ("heldout-" if heldout else "") + f"xquad-{lang}-{slug(xquad['en'][index].title)}"
    paragraphs = title.paragraphs[:n_par]
    by_id = {
        other: {q.qid: q for p in xquad[other][index].paragraphs[:n_par] for q in p.questions}
        for other in XQUAD_LANGS
    }
    rotation = [x for x in CROSS_LANGS if x != lang]
    rows = []
    for k, (i, q) in enumerate(pick_answerable(paragraphs)):
        if k % CROSS_EVERY == CROSS_EVERY - 1:
            other = rotation[(k // CROSS_EVERY) % len(rotation)]
            oq = by_id[other][q.qid]
            facts = dedupe(q.answers + oq.answers)
            rows.append(row(name, len(rows) + 1, oq.text, other, "cross-lingual", i, facts))
        else:
            rows.append(row(name, len(rows) + 1, q.text, lang, "fact", i, q.answers))
    contexts = [p.context for p in paragraphs]
    return EvalSet(name, f"XQuAD ({lang} article)", xquad["en"][index].title, lang, heldout, contexts, rows)


def build_sets(raw: Path) -> list[EvalSet]:
    """Apply the selection rule of evals/public/README.md to the raw files in `raw`."""
    sets: list[EvalSet] = []

    squad = read_squad_explorer(raw / "squad-explorer-v2.0-dev")
    used_titles: set[str] = set()
    found = 0
    for title in squad:
        n_par = article_prefix([p.context for p in title.paragraphs])
        if not n_par:
            continue
        qs = [q for p in title.paragraphs[:n_par] for q in p.questions]
        if not any(q.impossible for q in qs) or all(q.impossible for q in qs):
            continue
        sets.append(monolingual_set("squad2", "SQuAD 2.0 dev", "en", title, n_par, found >= SQUAD_EVAL))
        used_titles.add(title.title)
        found += 1
        if found == SQUAD_EVAL + SQUAD_HELDOUT:
            break

    xquad = {lang: read_squad_json(raw / f"xquad.{lang}.json") for lang in XQUAD_LANGS}
    langs = XQUAD_ARTICLE_LANGS + XQUAD_HELDOUT_LANGS
    found = 0
    for index, title in enumerate(xquad["en"]):
        if title.title in used_titles:
            continue
        n_par = article_prefix([p.context for p in title.paragraphs])
        if not n_par:
            continue
        heldout = found >= len(XQUAD_ARTICLE_LANGS)
        sets.append(xquad_set(xquad, index, langs[found], n_par, heldout))
        found += 1
        if found == len(langs):
            break

    piaf = read_squad_json(raw / "piaf-v1.0.json")
    found = 0
    for title in piaf:
        n_par = article_prefix([p.context for p in title.paragraphs])
        if not n_par:
            continue
        sets.append(monolingual_set("piaf", "PIAF v1.0", "fr", title, n_par, found >= PIAF_EVAL))
        found += 1
        if found == PIAF_EVAL + PIAF_HELDOUT:
            break
    return sets


# ---------------------------------------------------------------------------------------------- output


def write_set(out: Path, s: EvalSet) -> None:
    """Write <name>.txt and <name>.jsonl."""
    (out / f"{s.name}.txt").write_text("\n\n".join(s.paragraphs) + "\n", encoding="utf-8")
    lines = [json.dumps(r, ensure_ascii=False) for r in s.rows]
    (out / f"{s.name}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


def summary_table(sets: list[EvalSet]) -> str:
    """Markdown table of the sets, for the README."""
    head = (
        "| set | source (title) | article | question languages | answerable (cross-lingual) "
        "| unanswerable | paragraphs | characters | held out |\n"
        "|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for s in sets:
        qlangs = dedupe([str(r["language"]) for r in s.rows])
        answerable = sum(1 for r in s.rows if r["answerable"])
        cross = sum(1 for r in s.rows if r["kind"] == "cross-lingual")
        chars = len("\n\n".join(s.paragraphs))
        heldout = "yes" if s.heldout else "no"
        cells = [f"`{s.name}`", f"{s.source} ({s.title})", s.language, ", ".join(qlangs)]
        cells += [f"{answerable} ({cross})", str(len(s.rows) - answerable), str(len(s.paragraphs))]
        cells += [f"{chars:,}", heldout]
        lines.append("| " + " | ".join(cells) + " |")
    return head + "\n".join(lines) + "\n"


def check_output(out: Path, sets: list[EvalSet]) -> list[str]:
    """Re-read the written files and check them; return problems (empty when all is well)."""
    problems: list[str] = []
    ids: set[str] = set()
    verbatim = alternatives = 0
    for s in sets:
        paragraphs = (out / f"{s.name}.txt").read_text(encoding="utf-8").rstrip("\n").split("\n\n")
        if paragraphs != s.paragraphs:
            problems.append(f"{s.name}.txt: paragraphs do not split back on blank lines")
        for line in (out / f"{s.name}.jsonl").read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            if r["id"] in ids:
                problems.append(f"duplicate id {r['id']}")
            ids.add(r["id"])
            gold = [paragraphs[g] for g in r["gold_paragraphs"] if 0 <= g < len(paragraphs)]
            if len(gold) != len(r["gold_paragraphs"]) or r["answerable"] != bool(r["facts"]):
                problems.append(f"{r['id']}: bad gold_paragraphs or answerable/facts mismatch")
                continue
            alts = r["facts"][0] if r["facts"] else []
            if r["kind"] == "fact":
                alternatives += len(alts)
                verbatim += sum(1 for a in alts if any(a in g for g in gold))
            if alts and not any(a in g for a in alts for g in gold):
                problems.append(f"{r['id']}: no gold answer text in the gold paragraph")
    sys.stderr.write(
        f"checked {len(ids)} questions: {verbatim}/{alternatives} same-language gold answers verbatim "
        f"in their gold paragraph; {len(problems)} problems\n"
    )
    return problems


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("raw", type=Path, help="folder holding the fetched raw files")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "evals" / "public")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    sets = build_sets(args.raw)
    for s in sets:
        write_set(args.out, s)
    sys.stdout.write(summary_table(sets))
    problems = check_output(args.out, sets)
    for problem in problems:
        sys.stderr.write(problem + "\n")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
