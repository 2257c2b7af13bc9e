"""The default funnels in every company language (no I/O)."""

from __future__ import annotations

import pytest

from crm_pipeline.domain import model


@pytest.mark.parametrize("raw,expected", [("ru", "ru"), ("uz", "uz"), ("en", "en"), (" UZ", "uz"),
                                          ("", "en"), (None, "en"), ("de", "ru")])
def test_the_seed_language(raw, expected):
    """Named: that one; none (an event or token from before languages): English, as those companies were
    seeded; one this version does not know: the default, Russian."""
    assert model.seed_language(raw) == expected


@pytest.mark.parametrize("language", model.LANGUAGES)
def test_every_language_fills_every_group_with_the_same_stages_and_colors(language):
    funnels = model.default_funnels(language)
    english = model.default_funnels("en")
    assert list(funnels) == list(model.ENTITIES)
    for entity, (name, groups) in funnels.items():
        assert 0 < len(name) <= model.FUNNEL_NAME_MAX
        assert list(groups) == list(model.GROUPS)
        for key, stages in groups.items():
            assert [c for _, c in stages] == [c for _, c in english[entity][1][key]]  # one shape in every language
            assert all(0 < len(n) <= model.STAGE_NAME_MAX and model.normalize_color(c) == c for n, c in stages)
        names = [n for stages in groups.values() for n, _ in stages]
        assert len(set(names)) == len(names)


def test_the_languages_differ_and_uzbek_is_latin():
    names = {lang: [n for _, groups in model.default_funnels(lang).values() for st in groups.values() for n, _ in st]
             for lang in model.LANGUAGES}
    assert names["ru"] != names["en"] != names["uz"]
    assert model.DEFAULT_FUNNELS == model.default_funnels("en")
    for name in names["uz"]:
        assert not any("\u0400" <= ch <= "\u04ff" for ch in name) and "'" not in name and "o’" not in name
    assert all(any("\u0400" <= ch <= "\u04ff" for ch in n) for n in names["ru"])
