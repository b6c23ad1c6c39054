"""The audit baseline's text form (shared/baseline.py): canonical, sorted, strict."""

from __future__ import annotations

import pytest

from pinwarden.shared.baseline import Baseline, SeenFile, SeenRelease, dumps, loads
from pinwarden.shared.errors import InputError
from pinwarden.shared.model import FileHash, NormalizedName

H1, H2 = "a" * 64, "b" * 64


def release(name: str, version: str, *files: SeenFile, index: str | None = None) -> SeenRelease:
    return SeenRelease(
        name=NormalizedName(name), version=version, seen="2026-11-25T00:00:00Z", files=files, index=index
    )


SAMPLE = Baseline().with_releases(
    [
        release(
            "demo",
            "1.10",
            SeenFile(filename="demo-1.10.tar.gz", hashes=(FileHash("sha256", H1),), yanked=True),
            SeenFile(filename="demo-1.10-py3-none-any.whl", hashes=(FileHash("sha256", H2),)),
            index="https://pypi.org/simple/",
        ),
        release("demo", "1.9", SeenFile(filename="demo-1.9.exe", hashes=())),
        release("alpha", "0.1"),
    ]
)


def test_text_is_canonical_and_sorted() -> None:
    text = dumps(SAMPLE)
    assert text.endswith(
        "baseline-format = 1\n"
        "\n"
        '[projects.alpha."0.1"]\n'
        'seen = "2026-11-25T00:00:00Z"\n'  # nothing else served: no `files` line
        "\n"
        '[projects.demo."1.9"]\n'
        'seen = "2026-11-25T00:00:00Z"\n'
        "files = [\n"
        '  { file = "demo-1.9.exe", hashes = [] },\n'
        "]\n"
        "\n"
        '[projects.demo."1.10"]\n'
        'index = "https://pypi.org/simple/"\n'
        'seen = "2026-11-25T00:00:00Z"\n'
        "files = [\n"
        f'  {{ file = "demo-1.10-py3-none-any.whl", hashes = ["sha256:{H2}"] }},\n'
        f'  {{ file = "demo-1.10.tar.gz", hashes = ["sha256:{H1}"], yanked = true }},\n'
        "]\n"
    )
    assert "Seen is NOT trusted" in text
    assert dumps(loads(text)) == text  # a round trip gives the same bytes
    # Written before the `files` line could be left out: read the same.
    old = text.replace(
        '[projects.alpha."0.1"]\nseen = "2026-11-25T00:00:00Z"\n',
        '[projects.alpha."0.1"]\nseen = "2026-11-25T00:00:00Z"\nfiles = []\n',
    )
    assert old != text and loads(old) == loads(text)
    assert loads(text).get(NormalizedName("demo"), "1.10") is not None


def test_empty_baseline() -> None:
    assert loads(dumps(Baseline())) == Baseline()


ONE = 'baseline-format = 1\n[projects.demo."1.0"]\nseen = "x"\n'


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("baseline-format = 2\n", "baseline-format: expected 1, found 2"),
        ("baseline-format = 1\nextra = 1\n", "extra: unknown key"),
        (
            'baseline-format = 1\n[projects.Demo."1.0"]\nseen = "x"\n',
            "projects.Demo: project names are stored",
        ),
        (
            'baseline-format = 1\n[projects.demo."1.0"]\nfiles = []\n',
            'projects.demo."1.0".seen: must be a timestamp',
        ),
        (
            ONE + 'files = [{ file = "a/b", hashes = [] }]\n',
            'projects.demo."1.0".files[0].file',
        ),
        (
            ONE + 'files = [{ file = "a", hashes = ["md9:00"] }]\n',
            'projects.demo."1.0".files[0].hashes[0]',
        ),
        (
            ONE + 'files = [{ file = "a", hashes = [], yanked = 1 }]\n',
            'projects.demo."1.0".files[0].yanked',
        ),
        ("baseline-format = [\n", "invalid TOML"),
    ],
)
def test_every_problem_is_reported_with_where(text: str, where: str) -> None:
    with pytest.raises(InputError) as info:
        loads(text, "pinwarden-baseline.toml")
    assert where in str(info.value)
    assert "\n" not in str(info.value)


def test_compacting_keeps_every_acknowledgment() -> None:
    """An audit saves the compacted baseline: a person's acknowledgment must survive it (found when
    the smaller baseline and `pinwarden acknowledge` were merged)."""
    from pinwarden.shared.acknowledge import Acknowledgment, Subject
    from pinwarden.shared.baseline import compact
    from pinwarden.shared.ledger import Ledger

    name = NormalizedName("demo")
    seen = SeenRelease(name=name, version="1", seen="2026-11-25T03:00:00Z", files=())
    acknowledged = Acknowledgment(
        project=name,
        version="1",
        by="t",
        at="2026-11-26T09:00:00Z",
        reason="known",
        subjects=(Subject(kind="yanked", file="demo-1.tar.gz"),),
    )
    baseline = Baseline({seen.key: seen}, (acknowledged,))
    compacted = compact(baseline, Ledger())
    assert compacted.acknowledged == (acknowledged,)
    assert loads(dumps(compacted)).acknowledged == (acknowledged,)
