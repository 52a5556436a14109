"""Build the public evaluation sets (evals/public/) and training sets (evals/train/) from raw QA files.

Usage:
    python3 scripts/build_public_evals.py RAW_DIR [--out evals/public] [--train-out evals/train]

RAW_DIR must hold the files fetched from the public sources (this script downloads nothing; see
evals/public/README.md for the repository, path and commit of each file):

    RAW_DIR/squad-explorer-v2.0-dev/index.html     SQuAD 2.0 dev explorer: title order
    RAW_DIR/squad-explorer-v2.0-dev/<Title>.html   SQuAD 2.0 dev explorer: one page per title
    RAW_DIR/xquad.<lang>.json                      XQuAD, for en es de zh ru ar vi
    RAW_DIR/piaf-v1.0.json                         PIAF v1.0 (French)

For every selected title it writes <name>.txt (the article: paragraphs separated by one blank line) and
<name>.jsonl (questions in the project's eval format). The selection rules are documented in
evals/public/README.md (rule 1: build_sets(); rule 2: new_sets() and train_sets()) and
evals/train/README.md; the output is deterministic.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from collections.abc import Callable
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

# Rule 2 (issue 16): new eval, held-out and training sets.
ISSUE_QUOTED = ["Huguenot", "Black_Death", "Rhine", "1973_oil_crisis"]  # outputs read in issue 16
NEW_SQUAD_EVAL, NEW_SQUAD_HELDOUT = 2, 1
NEW_XQUAD_ARTICLE_LANGS = ["en", "es"]
NEW_XQUAD_HELDOUT_LANGS = ["en"]
NEW_XQUAD_ASKERS = ["de", "ru", "zh", "ar"]  # after the article's own language, in turn
XL_PER_PARAGRAPH, XL_MAX = 6, 30
# Training batches, each (SQuAD 2.0 titles, XQuAD groups of four), taken in turn so that a later batch never
# moves an earlier one's titles: 8 + 1 group, then 8 + 1 more (step 6; built as one batch, which gave the
# same titles), then 8 + 1 more (step 7) (evals/train/README.md).
TRAIN_BATCHES = [(16, 2), (8, 1)]
TRAIN_ANSWERABLE_PER_PARAGRAPH, TRAIN_ANSWERABLE = 3, 13
TRAIN_XQUAD_ARTICLE_LANGS = ["en", "es", "de", "zh"]
TRAIN_OTHER_ARTICLE = 6


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
    train: bool = False


def clean(text: str) -> str:
    """Normalise a context or answer: no line breaks inside a paragraph, no BOM, no outer spaces."""
    return re.sub(r"\s*\n\s*", " ", text.replace("\ufeff", "")).strip()


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


def pick_answerable(
    paragraphs: list[Paragraph], per_paragraph: int | None = None, most: int = MAX_ANSWERABLE
) -> list[tuple[int, Question]]:
    """Answerable questions in data-set order, at most `per_paragraph` per paragraph and `most` in all.

    Rule 1's default is min(4, 25 // paragraphs) per paragraph and 25 in all.
    """
    if per_paragraph is None:
        per_paragraph = min(MAX_PER_PARAGRAPH, max(1, MAX_ANSWERABLE // max(1, len(paragraphs))))
    picked = []
    for i, para in enumerate(paragraphs):
        qs = [q for q in para.questions if not q.impossible and q.answers]
        picked += [(i, q) for q in qs[:per_paragraph]]
    return picked[:most]


def pick_unanswerable(paragraphs: list[Paragraph]) -> list[tuple[int, Question]]:
    """Unanswerable questions in data-set order, at most 3 per paragraph and 12 in all."""
    picked = []
    for i, para in enumerate(paragraphs):
        qs = [q for q in para.questions if q.impossible]
        picked += [(i, q) for q in qs[:MAX_UNANSWERABLE_PER_PARAGRAPH]]
    return picked[:MAX_UNANSWERABLE]


def row(
    name: str,
    n: int,
    question: str,
    lang: str,
    kind: str,
    gold: int | None,
    facts: list[str],
) -> dict[str, object]:
    """One line of the eval format (gold None: no gold paragraph, for questions about another article)."""
    return {
        "id": f"{name}-{n}",
        "question": question,
        "language": lang,
        "kind": kind,
        "answerable": bool(facts),
        "gold_paragraphs": [] if gold is None else [gold],
        "facts": [facts] if facts else [],
    }


def set_name(prefix: str, lang: str, title: str, heldout: bool, train: bool) -> str:
    """`<prefix>-<lang>-<slug>`, with `heldout-` or `train-` in front when it is one."""
    front = "train-" if train else "heldout-" if heldout else ""
    return f"{front}{prefix}-{lang}-{slug(title)}"


def monolingual_set(
    prefix: str,
    source: str,
    lang: str,
    title: Title,
    n_par: int,
    heldout: bool,
    *,
    train: bool = False,
) -> EvalSet:
    """A set whose questions are all in the article's language (SQuAD 2.0, PIAF)."""
    name = set_name(prefix, lang, title.title, heldout, train)
    paragraphs = title.paragraphs[:n_par]
    if train:
        answerable = pick_answerable(paragraphs, TRAIN_ANSWERABLE_PER_PARAGRAPH, TRAIN_ANSWERABLE)
    else:
        answerable = pick_answerable(paragraphs)
    rows: list[dict[str, object]] = []
    for i, q in answerable:
        rows.append(row(name, len(rows) + 1, q.text, lang, "fact", i, q.answers))
    for i, q in pick_unanswerable(paragraphs):
        rows.append(row(name, len(rows) + 1, q.text, lang, "adversarial", i, []))
    paras = [p.context for p in paragraphs]
    return EvalSet(name, source, title.title, lang, heldout, paras, rows, train)


def rule1_asker(lang: str) -> Callable[[int], str]:
    """Rule 1: answerable question k with k % 3 == 2 is asked in the next language of CROSS_LANGS."""
    rotation = [x for x in CROSS_LANGS if x != lang]

    def asker(k: int) -> str:
        if k % CROSS_EVERY == CROSS_EVERY - 1:
            return rotation[(k // CROSS_EVERY) % len(rotation)]
        return lang

    return asker


def cycle_asker(languages: list[str]) -> Callable[[int], str]:
    """Rule 2: question k is asked in languages[k % len(languages)]."""
    return lambda k: languages[k % len(languages)]


def xquad_questions(xquad: dict[str, list[Title]], index: int, n_par: int) -> dict[str, dict[str, Question]]:
    """Per language, the XQuAD questions of the article's paragraphs by id."""
    return {
        other: {q.qid: q for p in xquad[other][index].paragraphs[:n_par] for q in p.questions}
        for other in XQUAD_LANGS
    }


def xquad_set(
    xquad: dict[str, list[Title]],
    index: int,
    lang: str,
    n_par: int,
    heldout: bool,
    *,
    asker: Callable[[int], str] | None = None,
    per_paragraph: int | None = None,
    most: int = MAX_ANSWERABLE,
    train: bool = False,
    other_article: tuple[int, int] | None = None,
) -> EvalSet:
    """An XQuAD set: the article in `lang`, answerable question k asked in asker(k) (rule 1 by default).

    A question asked in another language than the article's accepts the answer spans of both languages.
    other_article (index, n_par of another XQuAD title): its first TRAIN_OTHER_ARTICLE answerable
    questions are added as unanswerable ones (kind `other-article`, no gold paragraph), asked in turn.
    """
    asker = asker or rule1_asker(lang)
    title = xquad[lang][index]
    name = set_name("xquad", lang, xquad["en"][index].title, heldout, train)
    paragraphs = title.paragraphs[:n_par]
    by_id = xquad_questions(xquad, index, n_par)
    rows: list[dict[str, object]] = []
    for k, (i, q) in enumerate(pick_answerable(paragraphs, per_paragraph, most)):
        other = asker(k)
        if other != lang:
            oq = by_id[other][q.qid]
            if not all(a in xquad[other][index].paragraphs[i].context for a in oq.answers):
                raise ValueError(f"{name}: a {other} answer of {q.qid} is not in its {other} paragraph")
            facts = dedupe(q.answers + oq.answers)
            rows.append(row(name, len(rows) + 1, oq.text, other, "cross-lingual", i, facts))
        else:
            rows.append(row(name, len(rows) + 1, q.text, lang, "fact", i, q.answers))
    if other_article is not None:
        o_index, o_par = other_article
        o_by_id = xquad_questions(xquad, o_index, o_par)
        foreign = pick_answerable(xquad["en"][o_index].paragraphs[:o_par], per_paragraph, most)
        for k, (_, q) in enumerate(foreign[:TRAIN_OTHER_ARTICLE]):
            asked = o_by_id[asker(k)][q.qid]
            rows.append(row(name, len(rows) + 1, asked.text, asker(k), "other-article", None, []))
    contexts = [p.context for p in paragraphs]
    source = f"XQuAD ({lang} article)"
    return EvalSet(name, source, xquad["en"][index].title, lang, heldout, contexts, rows, train)


def build_sets(raw: Path) -> list[EvalSet]:
    """Apply the selection rules of evals/public/README.md to the raw files in `raw`: rule 1, then rule 2."""
    squad = read_squad_explorer(raw / "squad-explorer-v2.0-dev")
    xquad = {lang: read_squad_json(raw / f"xquad.{lang}.json") for lang in XQUAD_LANGS}
    piaf = read_squad_json(raw / "piaf-v1.0.json")
    sets = rule1_sets(squad, xquad, piaf)
    sets += rule2_sets(squad, xquad, {s.title for s in sets})
    return sets


def squad_qualifies(title: Title) -> int:
    """Rule 1 step 1 for SQuAD 2.0: the article's paragraph count, or 0 when the title does not qualify."""
    n_par = article_prefix([p.context for p in title.paragraphs])
    qs = [q for p in title.paragraphs[:n_par] for q in p.questions]
    if not n_par or not any(q.impossible for q in qs) or all(q.impossible for q in qs):
        return 0
    return n_par


def rule2_sets(squad: list[Title], xquad: dict[str, list[Title]], rule1_titles: set[str]) -> list[EvalSet]:
    """Rule 2: new SQuAD 2.0 and cross-lingual XQuAD eval/held-out sets, then the training split."""
    sets: list[EvalSet] = []
    unavailable = set(rule1_titles) | set(ISSUE_QUOTED)
    used = set(rule1_titles)

    found = 0
    for title in squad:
        n_par = squad_qualifies(title)
        if not n_par or title.title in unavailable:
            continue
        heldout = found >= NEW_SQUAD_EVAL
        sets.append(monolingual_set("squad2", "SQuAD 2.0 dev", "en", title, n_par, heldout))
        unavailable.add(title.title)
        used.add(title.title)
        found += 1
        if found == NEW_SQUAD_EVAL + NEW_SQUAD_HELDOUT:
            break

    langs = NEW_XQUAD_ARTICLE_LANGS + NEW_XQUAD_HELDOUT_LANGS
    found = 0
    for index, title in enumerate(xquad["en"]):
        n_par = article_prefix([p.context for p in title.paragraphs])
        if not n_par or title.title in unavailable:
            continue
        lang = langs[found]
        heldout = found >= len(NEW_XQUAD_ARTICLE_LANGS)
        asker = cycle_asker([lang, *NEW_XQUAD_ASKERS])
        sets.append(
            xquad_set(
                xquad, index, lang, n_par, heldout, asker=asker, per_paragraph=XL_PER_PARAGRAPH, most=XL_MAX
            )
        )
        unavailable.add(title.title)
        used.add(title.title)
        found += 1
        if found == len(langs):
            break

    for squad_count, xquad_groups in TRAIN_BATCHES:
        sets += train_batch(squad, xquad, used, squad_count, xquad_groups)
    return sets


def train_batch(
    squad: list[Title], xquad: dict[str, list[Title]], used: set[str], squad_count: int, xquad_groups: int
) -> list[EvalSet]:
    """One batch of training sets: the next SQuAD 2.0 titles, then the next XQuAD titles in groups of four
    (other-article questions cycling within each group); every title taken is added to used."""
    sets: list[EvalSet] = []
    found = 0
    for title in squad:
        n_par = squad_qualifies(title)
        if found == squad_count:
            break
        if not n_par or title.title in used:
            continue
        sets.append(monolingual_set("squad2", "SQuAD 2.0 dev", "en", title, n_par, False, train=True))
        used.add(title.title)
        found += 1

    picked: list[tuple[int, int]] = []
    for index, title in enumerate(xquad["en"]):
        if len(picked) == len(TRAIN_XQUAD_ARTICLE_LANGS) * xquad_groups:
            break
        n_par = article_prefix([p.context for p in title.paragraphs])
        if not n_par or title.title in used:
            continue
        picked.append((index, n_par))
        used.add(title.title)
    group_size = len(TRAIN_XQUAD_ARTICLE_LANGS)
    for k, (index, n_par) in enumerate(picked):
        j, lang = k % group_size, TRAIN_XQUAD_ARTICLE_LANGS[k % group_size]
        group = picked[k - j : k - j + group_size]
        asker = cycle_asker([lang, *[x for x in XQUAD_LANGS if x != lang]])
        sets.append(
            xquad_set(
                xquad,
                index,
                lang,
                n_par,
                False,
                asker=asker,
                per_paragraph=XL_PER_PARAGRAPH,
                most=XL_MAX,
                train=True,
                # A title alone in its group (too few qualified) has no other title to borrow from.
                other_article=group[(j + 1) % len(group)] if len(group) > 1 else None,
            )
        )
    return sets


def rule1_sets(squad: list[Title], xquad: dict[str, list[Title]], piaf: list[Title]) -> list[EvalSet]:
    """Rule 1 of evals/public/README.md (the first ten sets; unchanged)."""
    sets: list[EvalSet] = []
    used_titles: set[str] = set()
    found = 0
    for title in squad:
        n_par = squad_qualifies(title)
        if not n_par:
            continue
        sets.append(monolingual_set("squad2", "SQuAD 2.0 dev", "en", title, n_par, found >= SQUAD_EVAL))
        used_titles.add(title.title)
        found += 1
        if found == SQUAD_EVAL + SQUAD_HELDOUT:
            break

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
        "| set | source (title) | article | questions per language | answerable (cross-lingual) "
        "| unanswerable | paragraphs | characters | held out |\n"
        "|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for s in sets:
        langs = [str(r["language"]) for r in s.rows]
        qlangs = [f"{lang} {langs.count(lang)}" for lang in dedupe(langs)]
        answerable = sum(1 for r in s.rows if r["answerable"])
        cross = sum(1 for r in s.rows if r["kind"] == "cross-lingual")
        chars = len("\n\n".join(s.paragraphs))
        heldout = "training" if s.train else "yes" if s.heldout else "no"
        cells = [f"`{s.name}`", f"{s.source} ({s.title})", s.language, ", ".join(qlangs)]
        cells += [f"{answerable} ({cross})", str(len(s.rows) - answerable), str(len(s.paragraphs))]
        cells += [f"{chars:,}", heldout]
        lines.append("| " + " | ".join(cells) + " |")
    return head + "\n".join(lines) + "\n"


def check_output(folder: Callable[[EvalSet], Path], sets: list[EvalSet]) -> list[str]:
    """Re-read the written files and check them; return problems (empty when all is well)."""
    problems: list[str] = []
    ids: set[str] = set()
    verbatim = alternatives = cross = cross_found = 0
    titles: dict[tuple[str, str], str] = {}
    for s in sets:
        key = ("fr.wikipedia" if s.source.startswith("PIAF") else "en.wikipedia", s.title)
        if key in titles:
            problems.append(f"{s.name}: title {s.title} already used by {titles[key]}")
        titles[key] = s.name
        out = folder(s)
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
            if r["answerable"] and not gold:
                problems.append(f"{r['id']}: answerable without a gold paragraph")
            alts = r["facts"][0] if r["facts"] else []
            if r["kind"] == "fact":
                alternatives += len(alts)
                verbatim += sum(1 for a in alts if any(a in g for g in gold))
            if r["kind"] == "cross-lingual":
                cross += 1
                cross_found += any(a in g for a in alts for g in gold)
            if alts and not any(a in g for a in alts for g in gold):
                problems.append(f"{r['id']}: no gold answer text in the gold paragraph")
    sys.stderr.write(
        f"checked {len(ids)} questions in {len(sets)} sets, titles disjoint: {verbatim}/{alternatives} "
        f"same-language gold answers verbatim in their gold paragraph, {cross_found}/{cross} cross-lingual "
        f"questions with an article-language answer verbatim in it; {len(problems)} problems\n"
    )
    return problems


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    root = Path(__file__).resolve().parent.parent
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("raw", type=Path, help="folder holding the fetched raw files")
    ap.add_argument("--out", type=Path, default=root / "evals" / "public", help="eval and held-out sets")
    ap.add_argument("--train-out", type=Path, default=root / "evals" / "train", help="training sets")
    args = ap.parse_args(argv)

    out: Path = args.out
    train_out: Path = args.train_out

    def folder(s: EvalSet) -> Path:
        return train_out if s.train else out

    args.out.mkdir(parents=True, exist_ok=True)
    args.train_out.mkdir(parents=True, exist_ok=True)
    sets = build_sets(args.raw)
    for s in sets:
        write_set(folder(s), s)
    sys.stdout.write(summary_table([s for s in sets if not s.train]))
    sys.stdout.write("\ntraining sets:\n\n" + summary_table([s for s in sets if s.train]))
    problems = check_output(folder, sets)
    for problem in problems:
        sys.stderr.write(problem + "\n")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
