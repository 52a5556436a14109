import pytest

from bot.errors import StoreError
from store.chroma_store import ArticleStore, open_client

ARTICLE = "Premier paragraphe. Il a deux phrases.\n\nSecond paragraphe sur M. Dupont, qui parle."


def test_ingest_is_idempotent(tmp_path, embedder):
    store = ArticleStore(open_client(tmp_path / "chroma"), embedder)
    first = store.ingest(ARTICLE)
    ids_before = [c.chunk_id for c in store.chunks()]
    second = store.ingest(ARTICLE)
    assert (first.status, second.status) == ("created", "unchanged")
    assert [c.chunk_id for c in store.chunks()] == ids_before == ["p0s0", "p0s1", "p1s0"]
    assert store.count() == 3


def test_store_persists_article_and_checksum(tmp_path, embedder):
    ArticleStore(open_client(tmp_path / "chroma"), embedder).ingest(ARTICLE)
    reopened = ArticleStore(open_client(tmp_path / "chroma"), embedder)
    assert reopened.article_text() == ARTICLE
    assert reopened.checksum is not None and len(reopened.checksum) == 64


def test_changed_article_is_reindexed_not_mixed(tmp_path, embedder):
    store = ArticleStore(open_client(tmp_path / "chroma"), embedder)
    store.ingest(ARTICLE)
    report = store.ingest("Un tout autre texte.")
    assert report.status == "reindexed"
    assert [c.text for c in store.chunks()] == ["Un tout autre texte."]


def test_corrupt_store_gives_a_clear_error(tmp_path, embedder):
    path = tmp_path / "chroma"
    path.mkdir()
    (path / "chroma.sqlite3").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match=r"CHROMA_PATH|Chroma"):
        store = ArticleStore(open_client(path), embedder)
        store.ingest(ARTICLE)


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

    store = ArticleStore(open_client(tmp_path / "chroma"), load_embedder("use"))
    store.ingest(ARTICLE)
    hits = store.search(load_embedder("use").embed_query("Qui est M. Dupont ?"), k=1)
    assert hits[0][0] == "p1s0"


def test_unknown_embedder_names_the_setting():
    from bot.errors import ConfigError
    from store.embeddings import load_embedder

    with pytest.raises(ConfigError, match="EMBEDDER"):
        load_embedder("no-such-embedder")
