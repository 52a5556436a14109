import pytest

from bot.errors import StoreError
from store.chroma_store import ArticleLibrary, open_client

ARTICLE = "Premier paragraphe. Il a deux phrases.\n\nSecond paragraphe sur M. Dupont, qui parle."
OTHER = "Ein ganz anderer Text über Frau Schmidt. Sie spricht.\n\nZweiter Absatz."
ABOUT = {"title": "Premier", "language": "fr", "source": "test"}


def ingest(library: ArticleLibrary, name: str = "premier", text: str = ARTICLE, **about: str):
    return library.ingest(name, text, **{**ABOUT, **about})


def test_ingest_is_idempotent_with_stable_ids(tmp_path, embedder):
    library = ArticleLibrary(open_client(tmp_path / "chroma"), embedder)
    first = ingest(library)
    ids_before = [c.chunk_id for c in library.get("premier").chunks()]
    second = ingest(library)
    assert (first.status, second.status) == ("created", "unchanged")
    assert ids_before == [c.chunk_id for c in library.get("premier").chunks()] == ["p0s0", "p0s1", "p1s0"]
    assert second.record.ingested_at == first.record.ingested_at, "nothing was rewritten"


def test_the_store_keeps_each_articles_text_checksum_source_and_language(tmp_path, embedder):
    ingest(ArticleLibrary(open_client(tmp_path / "chroma"), embedder), source="https://example.org/a")
    reopened = ArticleLibrary(open_client(tmp_path / "chroma"), embedder)
    [record] = reopened.records()
    assert (record.name, record.title, record.language) == ("premier", "Premier", "fr")
    assert record.source == "https://example.org/a" and len(record.sha256) == 64 and record.chunks == 3
    assert reopened.get("premier").article_text() == ARTICLE


def test_changed_article_is_reindexed_not_mixed(tmp_path, embedder):
    library = ArticleLibrary(open_client(tmp_path / "chroma"), embedder)
    ingest(library)
    report = ingest(library, text="Un tout autre texte.")
    assert report.status == "reindexed"
    assert [c.text for c in library.get("premier").chunks()] == ["Un tout autre texte."]


def test_retrieval_never_mixes_articles_and_remove_takes_one(tmp_path, embedder):
    library = ArticleLibrary(open_client(tmp_path / "chroma"), embedder)
    ingest(library)
    ingest(library, "anderer", OTHER, language="de", title="Anderer")
    query = embedder.embed_query("Wer ist Frau Schmidt?")
    french = library.get("premier")
    assert {cid for cid, _ in french.search(query, k=10)} == {"p0s0", "p0s1", "p1s0"}
    assert "Schmidt" not in " ".join(c.text for c in french.chunks())
    assert library.remove("anderer") and not library.remove("anderer")
    assert [r.name for r in library.records()] == ["premier"] and library.get("anderer") is None


def test_a_failed_ingest_leaves_the_store_as_it_was(tmp_path, embedder):
    class Failing:
        name = embedder.name

        def embed_passages(self, texts):
            raise RuntimeError("out of memory")

    path = tmp_path / "chroma"
    ingest(ArticleLibrary(open_client(path), embedder))
    broken = ArticleLibrary(open_client(path), Failing())
    with pytest.raises(RuntimeError):
        ingest(broken, text="Un texte changé qui ne sera jamais indexé.")
    with pytest.raises(RuntimeError):
        ingest(broken, "nouveau", "Un nouvel article. Jamais indexé.")
    after = ArticleLibrary(open_client(path), embedder)
    assert [r.name for r in after.records()] == ["premier"]
    assert after.get("premier").article_text() == ARTICLE
    assert [c.name for c in open_client(path).list_collections()] == ["article-premier"]


def test_corrupt_store_gives_a_clear_error(tmp_path, embedder):
    path = tmp_path / "chroma"
    path.mkdir()
    (path / "chroma.sqlite3").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match=r"CHROMA_PATH|Chroma"):
        library = ArticleLibrary(open_client(path), embedder)
        ingest(library)
        library.records()


def test_dense_search_ranks_the_matching_sentence_first(store, embedder):
    hits = store.search(embedder.embed_query("Combien de localités ont été prises ?"), k=3)
    assert hits[0][0] == "p0s0"


def test_avx2_is_read_from_cpu_flags(tmp_path):
    from store.embeddings import cpu_has_avx2

    with_avx2, without = tmp_path / "with", tmp_path / "without"
    with_avx2.write_text("flags\t: fpu sse4_2 avx avx2 fma\n")
    without.write_text("flags\t: fpu sse4_2 avx\n")
    assert cpu_has_avx2(with_avx2) and not cpu_has_avx2(without)


def test_use_fallback_embedder_works_as_a_chroma_store(tmp_path):
    from store.embeddings import load_embedder

    library = ArticleLibrary(open_client(tmp_path / "chroma"), load_embedder("use"))
    ingest(library)
    hits = library.get("premier").search(load_embedder("use").embed_query("Qui est M. Dupont ?"), k=1)
    assert hits[0][0] == "p1s0"


def test_unknown_embedder_names_the_setting():
    from bot.errors import ConfigError
    from store.embeddings import load_embedder

    with pytest.raises(ConfigError, match="EMBEDDER"):
        load_embedder("no-such-embedder")
