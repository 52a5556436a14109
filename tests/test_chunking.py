from bot.paths import BUNDLED_ARTICLE
from store.chunking import chunk_article, split_paragraphs, split_sentences

ARTICLE = BUNDLED_ARTICLE.read_text(encoding="utf-8")


def test_paragraphs_split_on_blank_lines():
    paragraphs = split_paragraphs(ARTICLE)
    assert len(paragraphs) == 9
    assert paragraphs[0][1].startswith("Les forces russes progressent")
    assert paragraphs[8][1].startswith('"Tout est mis en œuvre')


def test_title_abbreviation_does_not_end_a_sentence():
    sentences = [
        s for _, s in split_sentences("Il a parlé hier. M. Belousov a déclaré que tout allait bien.")
    ]
    assert sentences == ["Il a parlé hier.", "M. Belousov a déclaré que tout allait bien."]


def test_chunks_are_verbatim_with_anchors():
    chunks = chunk_article(ARTICLE)
    for chunk in chunks:
        assert ARTICLE[chunk.start : chunk.end] == chunk.text
        assert chunk.chunk_id == f"p{chunk.paragraph}s{chunk.sentence}"
    assert {chunk.paragraph for chunk in chunks} == set(range(9))
    # Paragraph 5 has two sentences; the second starts "Il a ajouté".
    assert [c.text[:11] for c in chunks if c.paragraph == 5] == ["M. Belousov", "Il a ajouté"]


def test_chunking_is_deterministic():
    assert chunk_article(ARTICLE) == chunk_article(ARTICLE)
