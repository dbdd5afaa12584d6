from search.analysis import ChineseTokenizer, PinyinTokenizer, normalize, query_words


def test_positions_are_sequential_words_not_character_offsets():
    tokens = [(t.text, t.pos) for t in ChineseTokenizer()("电子商务运营培训", positions=True)]
    main = [(text, pos) for text, pos in tokens if text in ("电子商务", "运营", "培训")]
    assert main == [("电子商务", 0), ("运营", 1), ("培训", 2)]
    # words inside a long word share its position, so 商务 still finds 电子商务
    assert ("商务", 0) in tokens


def test_query_mode_emits_only_the_segmented_words():
    tokens = [t.text for t in ChineseTokenizer(unigrams=True)("电子商务运营", mode="query")]
    assert tokens == ["电子商务", "运营"]


def test_character_offsets_point_into_the_original_text():
    value = "Ｅｘｃｅｌ表格入門"
    spans = {t.text: value[t.startchar:t.endchar]
             for t in ChineseTokenizer()(value, chars=True)}
    assert spans["excel"] == "Ｅｘｃｅｌ"
    assert spans["入门"] == "入門"


def test_normalize_folds_traditional_full_width_and_case():
    assert normalize("電子商務ＡＢＣ　培訓") == "电子商务abc 培训"
    assert len(normalize("資訊軟體")) == len("資訊軟體")


def test_pinyin_full_and_initials_per_word():
    full = [(t.text, t.pos) for t in PinyinTokenizer()("生猪养殖技术", positions=True)]
    initials = [t.text for t in PinyinTokenizer(initials=True)("生猪养殖技术")]
    assert full == [("shengzhu", 0), ("yangzhi", 1), ("jishu", 2)]
    assert initials == ["sz", "yz", "js"]


def test_punctuation_is_not_a_word():
    assert query_words("保洁、收纳！") == ["保洁", "收纳"]
