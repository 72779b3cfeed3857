"""Red-team attacks on free-text scrubbing: ways of writing an email or a rostered member's name
that the first scrubber let through (the scrubber's own behaviour is tests/test_scrub.py)."""

from __future__ import annotations

import pytest

from pipelines.scrub import Scrubber, identifying_question, looks_like_a_value

SCRUB = Scrubber.for_roster(["Ada Okafor", "John O'Neil", "Mary-Jane Watson"], "GB")


@pytest.mark.parametrize(("text", "expected"), [
    # an address spelled out without brackets used to keep its domain (and any local part not
    # on the roster: "jsmith42 at example dot org" was stored as typed)
    ("write jsmith42 at example dot org", "write [email]"),
    ("ada.okafor at gmail dot co dot uk!", "[email]!"),
    ("JSMITH AT EXAMPLE DOT ORG", "[email]"),
])
def test_an_email_spelled_out_without_brackets_is_scrubbed(text, expected):
    assert SCRUB.scrub(text)[0] == expected
    assert SCRUB.scrub(text)[1]["email"] == 1


@pytest.mark.parametrize("text", [
    "we meet at the park on Sundays", "at home, dot the i's", "look at that dot", "at 7 dot 30",
])
def test_at_and_dot_in_ordinary_sentences_stay(text):
    assert SCRUB.scrub(text)[0] == text


@pytest.mark.parametrize(("text", "expected"), [
    # a rostered name written as one word, as in a handle or an address, used to stay
    ("ask adaokafor or AdaOkafor", "ask [name] or [name]"),
    ("my insta is ada_okafor", "my insta is [name]"),
    # ... and a surname typed without its apostrophe or hyphen
    ("thanks john oneil", "thanks [name]"),
    ("maryjane said so, and MaryJaneWatson too", "[name] said so, and [name] too"),
])
def test_a_rostered_name_written_as_one_word_is_scrubbed(text, expected):
    assert SCRUB.scrub(text)[0] == expected


def test_a_header_holding_a_spelled_out_email_is_a_value_never_echoed():
    assert looks_like_a_value("jsmith42 at example dot org")


@pytest.mark.parametrize("question", [
    # where someone lives identifies them as a location does; these used to be kept
    "Your postal code", "ZIP", "Where do you live?", "Which city do you live in?", "Home town",
    "Wohnort", "Ville de résidence", "Où habitez-vous ?",
])
def test_questions_asking_where_someone_lives_are_identifying(question):
    assert identifying_question(question)


@pytest.mark.parametrize("question", ["Where do you meet?", "Which group are you in?",
                                      "How often do you feel isolated from others?"])
def test_questions_about_the_group_are_not(question):
    assert not identifying_question(question)
