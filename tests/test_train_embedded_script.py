"""Options of ``scripts/train_embedded_checkpoint.py`` that do not need a training run."""

from __future__ import annotations

import pytest


@pytest.fixture()
def script(import_script):
    return import_script("train_embedded_checkpoint")


def test_model_options_are_read_as_json_values(script):
    args = script._parse(["--model-option", "embed_dim=100", "--model-option", "use_gaf=false",
                          "--model-option", "note=wide"])
    assert args.model_option == [("embed_dim", 100), ("use_gaf", False), ("note", "wide")]
    assert script._parse([]).model_option == []


@pytest.mark.parametrize("bad", ["embed_dim", "=100"])
def test_a_model_option_without_key_and_value_is_refused(script, bad, capsys):
    with pytest.raises(SystemExit):
        script._parse(["--model-option", bad])
    assert "KEY=VALUE" in capsys.readouterr().err


def test_runs_with_other_model_options_resume_from_other_folders(script, tmp_path):
    plain = script.training_dir(tmp_path, "unebolt_p64", "abcdef1234567890", {})
    assert plain == tmp_path / "unebolt_p64-abcdef123456"  # the folder of runs without options
    wide = script.training_dir(tmp_path, "unebolt_p64", "abcdef1234567890", {"embed_dim": 100})
    wider = script.training_dir(tmp_path, "unebolt_p64", "abcdef1234567890", {"embed_dim": 200})
    assert len({plain, wide, wider}) == 3
    assert wide == script.training_dir(tmp_path, "unebolt_p64", "abcdef1234567890",
                                       {"embed_dim": 100})
    # the option's order does not matter
    both = script.training_dir(tmp_path, "s", "f" * 12, {"embed_dim": 100, "use_gaf": False})
    assert both == script.training_dir(tmp_path, "s", "f" * 12, {"use_gaf": False,
                                                                 "embed_dim": 100})

