import json

import pytest

from topicfit.errors import ConfigError, DataError
from topicfit.labels import NEWSGROUPS, get_scheme


def test_fine_is_the_20_groups():
    scheme = get_scheme("fine")
    assert scheme.classes == tuple(sorted(NEWSGROUPS)) and len(scheme.classes) == 20
    assert scheme.map_label("sci.space") == "sci.space"


def test_coarse_is_the_7_top_level_categories():
    scheme = get_scheme("coarse")
    assert scheme.classes == ("alt", "comp", "misc", "rec", "sci", "soc", "talk")
    assert scheme.map_label("comp.sys.mac.hardware") == "comp"
    assert scheme.map_label("soc.religion.christian") == "soc"
    assert scheme.map_label("talk.religion.misc") == "talk"


def test_mapping_file_json_and_yaml(tmp_path):
    (tmp_path / "m.json").write_text(json.dumps({"sci.space": "space", "rec.autos": "vehicles", "rec.motorcycles": "vehicles"}))
    (tmp_path / "m.yaml").write_text("sci.space: space\nrec.autos: vehicles\n")
    for name in ("m.json", "m.yaml"):
        scheme = get_scheme(str(tmp_path / name))
        assert scheme.map_label("rec.autos") == "vehicles"
        assert "space" in scheme.classes


def test_unmapped_error_or_drop(tmp_path):
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"sci.space": "space"}))
    with pytest.raises(DataError, match="does not map the label 'rec.autos'"):
        get_scheme(str(path)).map_label("rec.autos")
    assert get_scheme(str(path), unmapped="drop").map_label("rec.autos") is None


def test_bad_scheme_names_list_the_options(tmp_path):
    with pytest.raises(ValueError, match="fine"):
        get_scheme("medium")
    with pytest.raises(ConfigError, match="does not exist"):
        get_scheme(str(tmp_path / "missing.json"))
    (tmp_path / "empty.json").write_text("[]")
    with pytest.raises(ValueError, match="non-empty mapping"):
        get_scheme(str(tmp_path / "empty.json"))


def test_a_finer_scheme_answers_a_coarser_one_not_the_reverse():
    coarse = get_scheme("coarse")
    classes = list(coarse.classes)
    class_map = coarse.class_map(NEWSGROUPS, classes)
    assert class_map["comp.sys.mac.hardware"] == "comp" and class_map["soc.religion.christian"] == "soc" and set(class_map.values()) == set(classes)
    assert coarse.class_map(classes, classes) == {c: c for c in classes}  # same classes: nothing to sum
    with pytest.raises(ConfigError, match="cannot answer in label scheme 'fine'"):
        get_scheme("fine").class_map(classes, list(NEWSGROUPS))
