"""Bad files on purpose: each error names the file, the problem and the fix; checksums catch
damaged bytes; failed writes leave nothing behind."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import xarray as xr

from unebolt_viz.data import InvalidDataError, load, roi_timeseries, save
from unebolt_viz.data.netcdf import DataFileError

EMBEDDED = Path(__file__).resolve().parents[1] / "unebolt_viz" / "resources" / "embedded"


def _bold(n_times: int = 300) -> xr.DataArray:
    rng = np.random.default_rng(0)
    rois = {"roi": [f"r{i}" for i in range(6)], "network": ["Visual", "Default", "Limbic"] * 2}
    scans = ["sub01-scan01"] * n_times
    return roi_timeseries(rng.normal(size=(n_times, 6)), rois, 2.1, scan=scans,
                          subject=["sub01"] * n_times, tr_index=np.arange(n_times),
                          data_source="simulated")


def _flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


# --- netCDF ----------------------------------------------------------------------------------


def test_truncated_netcdf_names_the_file_and_the_fix(tmp_path):
    path = save(_bold(), tmp_path / "bold.nc")
    path.write_bytes(path.read_bytes()[:700])
    with pytest.raises(DataFileError) as err:
        load(path)
    message = str(err.value)
    assert str(path) in message and "truncated" in message
    assert "unebolt_viz.data.save" in message
    assert isinstance(err.value, InvalidDataError)  # callers' except clauses keep working


def test_garbage_netcdf_says_it_is_not_netcdf(tmp_path):
    path = tmp_path / "notes.nc"
    path.write_bytes(b"this is not a netCDF file at all\n" * 4)
    with pytest.raises(DataFileError, match="is not a netCDF file") as err:
        load(path)
    assert str(path) in str(err.value) and "Write it again" in str(err.value)


def test_empty_netcdf_is_named(tmp_path):
    path = tmp_path / "empty.nc"
    path.write_bytes(b"")
    with pytest.raises(DataFileError, match="is empty") as err:
        load(path)
    assert str(path) in str(err.value)


def test_missing_netcdf_is_a_file_not_found_error_with_a_fix(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        load(tmp_path / "absent.nc")
    assert isinstance(err.value, DataFileError)
    assert str(tmp_path / "absent.nc") in str(err.value)
    assert "unebolt_viz.data.save" in str(err.value)


def test_netcdf_that_is_not_a_container_is_refused(tmp_path):
    path = tmp_path / "plain.nc"
    xr.Dataset({"a": ("x", np.arange(3.0))}).to_netcdf(path, engine="h5netcdf")
    with pytest.raises(DataFileError, match="not a unebolt_viz container") as err:
        load(path)
    assert str(path) in str(err.value) and "roi_timeseries" in str(err.value)


def test_netcdf3_container_loads(tmp_path):
    bold = _bold()
    path = tmp_path / "bold3.nc"
    bold.to_netcdf(path, engine="scipy")
    assert path.read_bytes()[:3] == b"CDF"
    loaded = load(path)
    assert isinstance(loaded, xr.DataArray) and loaded.attrs["kind"] == "roi_timeseries"
    np.testing.assert_array_equal(loaded.values, bold.values)
    assert list(loaded["network"].values) == list(bold["network"].values)


def test_truncated_netcdf3_names_the_file(tmp_path):
    path = tmp_path / "bold3.nc"
    _bold().to_netcdf(path, engine="scipy")
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(DataFileError) as err:
        load(path)
    assert str(path) in str(err.value) and "damaged or truncated" in str(err.value)


def test_saved_netcdf_has_fletcher32_checksums_and_round_trips(tmp_path):
    bold = _bold()
    path = save(bold, tmp_path / "bold.nc")
    with h5py.File(path) as f:
        assert f["bold"].fletcher32 and f["x"].fletcher32 and f["tr_index"].fletcher32
    loaded = load(path)
    np.testing.assert_array_equal(loaded.values, bold.values)
    xr.testing.assert_identical(loaded, bold)


def test_a_flipped_byte_in_netcdf_data_is_detected(tmp_path):
    path = save(_bold(), tmp_path / "bold.nc")
    with h5py.File(path) as f:
        chunk = f["bold"].id.get_chunk_info(0)
    _flip_byte(path, chunk.byte_offset + chunk.size // 2)
    with pytest.raises(DataFileError, match="checksum") as err:
        load(path)
    assert str(path) in str(err.value) and "Write it again" in str(err.value)


def test_save_to_a_folder_is_refused_before_any_temporary_file(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    with pytest.raises(DataFileError, match="is a folder") as err:
        save(_bold(), folder)
    assert str(folder) in str(err.value)
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert list(folder.iterdir()) == []


def test_failed_netcdf_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    def broken(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(xr.DataArray, "to_netcdf", broken)
    with pytest.raises(OSError, match="disk full"):
        save(_bold(), tmp_path / "bold.nc")
    assert list(tmp_path.iterdir()) == []


# --- saved models ----------------------------------------------------------------------------


def _saved_model(tmp_path):
    from unebolt_viz.models import build_model, save_model

    return save_model(build_model("labram_unified", n_outputs=2, preset="tiny", seed=0),
                      tmp_path / "m")


def test_saved_model_records_the_sha256_of_its_weights(tmp_path):
    weights, config = _saved_model(tmp_path)
    payload = json.loads(config.read_text())
    assert payload["weights_sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert payload["config"]["name"] == "labram_unified"


def test_a_flipped_byte_in_model_weights_is_detected(tmp_path):
    from unebolt_viz.models import load_model

    weights, config = _saved_model(tmp_path)
    expected = json.loads(config.read_text())["weights_sha256"]
    _flip_byte(weights, weights.stat().st_size - 3)  # inside the last tensor's data
    actual = hashlib.sha256(weights.read_bytes()).hexdigest()
    with pytest.raises(ValueError) as err:
        load_model(tmp_path / "m")
    message = str(err.value)
    assert str(weights) in message and expected in message and actual in message
    assert "save_model" in message and "re-download" in message


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_unreadable_model_weights_name_the_file(tmp_path, damage):
    from unebolt_viz.models import load_model

    weights, config = _saved_model(tmp_path)
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2] if damage == "truncate" else b"\x00garbage" * 9)
    payload = json.loads(config.read_text())
    del payload["weights_sha256"]  # as in a file saved before hashes: the reader itself must fail
    config.write_text(json.dumps(payload))
    with pytest.raises(ValueError) as err:
        load_model(tmp_path / "m")
    assert str(weights) in str(err.value) and "not a valid safetensors file" in str(err.value)
    assert "save_model" in str(err.value)


def test_garbled_model_config_names_the_file_and_the_fix(tmp_path):
    from unebolt_viz.models import load_model, read_config

    _, config = _saved_model(tmp_path)
    config.write_text('{"config": {"name": "labram_un')
    for reader in (read_config, load_model):
        with pytest.raises(ValueError) as err:
            reader(tmp_path / "m")
        assert str(config) in str(err.value) and "not valid JSON" in str(err.value)
        assert "save_model" in str(err.value)


def test_ridge_records_and_verifies_its_sha256(tmp_path):
    from unebolt_viz.models import RidgeBaseline

    model = RidgeBaseline.load(EMBEDDED / "ridge_p64")
    weights, config = model.save(tmp_path / "ridge")
    recorded = json.loads(config.read_text())["weights_sha256"]
    assert recorded == hashlib.sha256(weights.read_bytes()).hexdigest()
    np.testing.assert_array_equal(RidgeBaseline.load(tmp_path / "ridge").coef_, model.coef_)
    _flip_byte(weights, weights.stat().st_size - 1)
    with pytest.raises(ValueError) as err:
        RidgeBaseline.load(tmp_path / "ridge")
    assert str(weights) in str(err.value) and recorded in str(err.value)


def test_models_saved_without_a_hash_still_load_and_are_not_rewritten(tmp_path):
    """Files from before hashes and ROI records (the shipped models of 0.1.0) stay loadable."""
    import shutil

    from unebolt_viz.models import load_model

    for stem in ("ridge_p64", "unebolt_p64"):
        for ext in (".json", ".safetensors"):
            shutil.copy(EMBEDDED / f"{stem}{ext}", tmp_path / f"{stem}{ext}")
        payload = json.loads((tmp_path / f"{stem}.json").read_text())
        del payload["weights_sha256"]
        for key in ("roi_names", "atlas", "training_data_source"):
            payload["config"].pop(key, None)
        (tmp_path / f"{stem}.json").write_text(json.dumps(payload))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert load_model(tmp_path / "ridge_p64").coef_.shape[-1] == 64
    legacy = load_model(tmp_path / "unebolt_p64")
    assert legacy.get_config()["name"] == "unebolt" and legacy.roi_names is None
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_shipped_models_record_their_hash_and_rois():
    for config in EMBEDDED.glob("*_p*.json"):
        if config.name.endswith(".training.json"):
            continue
        payload = json.loads(config.read_text())
        weights = config.with_suffix(".safetensors")
        assert payload["weights_sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
        assert len(payload["config"]["roi_names"]) == int(config.stem.split("_p")[-1])
        assert payload["config"]["training_data_source"] == "simulated"


# --- training checkpoints --------------------------------------------------------------------


def _checkpoint(tmp_path):
    import torch

    from unebolt_viz.models import build_model
    from unebolt_viz.training import checkpoint as ckpt

    model = build_model("labram_unified", n_outputs=2, preset="tiny", seed=0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(torch.randn(1, 26, 3200)).sum().backward()
    optimizer.step()
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    folder = ckpt.save_checkpoint(tmp_path, model=model, optimizer=optimizer, scheduler=scheduler,
                                  state={"epoch": 0}, step=3)
    return folder, model, optimizer, scheduler


def test_checkpoint_records_hashes_and_loads(tmp_path):
    from unebolt_viz.training import checkpoint as ckpt

    folder, model, optimizer, scheduler = _checkpoint(tmp_path)
    meta = json.loads((folder / "optimizer.json").read_text())
    assert meta["sha256"] == hashlib.sha256((folder / "optimizer.safetensors").read_bytes()).hexdigest()
    state = json.loads((folder / "trainer_state.json").read_text())
    rng = folder / "rng-rank0.safetensors"
    assert state["files_sha256"] == {rng.name: hashlib.sha256(rng.read_bytes()).hexdigest()}
    assert "weights_sha256" in json.loads((folder / "model.json").read_text())
    loaded = ckpt.load_checkpoint(ckpt.latest_checkpoint(tmp_path), model=model,
                                  optimizer=optimizer, scheduler=scheduler)
    assert loaded["step"] == 3 and "files_sha256" not in loaded


@pytest.mark.parametrize("name", ["model.safetensors", "optimizer.safetensors",
                                  "rng-rank0.safetensors"])
def test_a_damaged_checkpoint_file_is_named(tmp_path, name):
    from unebolt_viz.training import checkpoint as ckpt

    folder, model, optimizer, scheduler = _checkpoint(tmp_path)
    _flip_byte(folder / name, (folder / name).stat().st_size - 1)
    with pytest.raises(ckpt.CheckpointError) as err:
        ckpt.load_checkpoint(folder, model=model, optimizer=optimizer, scheduler=scheduler)
    assert str(folder / name) in str(err.value) and "sha256" in str(err.value)
    assert "--no-resume" in str(err.value) and "latest.json" in str(err.value)


def test_garbled_latest_json_names_the_file_and_the_fix(tmp_path):
    from unebolt_viz.training import checkpoint as ckpt

    folder, *_ = _checkpoint(tmp_path)
    pointer = tmp_path / "checkpoints" / "latest.json"
    pointer.write_text('{"checkpoint": "step-0')
    with pytest.raises(ckpt.CheckpointError) as err:
        ckpt.latest_checkpoint(tmp_path)
    message = str(err.value)
    assert str(pointer) in message and "not valid JSON" in message
    assert f"Delete {pointer}" in message and folder.name in message


def test_latest_json_pointing_at_a_missing_folder_is_named(tmp_path):
    import shutil

    from unebolt_viz.training import checkpoint as ckpt

    folder, *_ = _checkpoint(tmp_path)
    shutil.rmtree(folder)
    with pytest.raises(ckpt.CheckpointError) as err:
        ckpt.latest_checkpoint(tmp_path)
    assert isinstance(err.value, ValueError)
    message = str(err.value)
    pointer = tmp_path / "checkpoints" / "latest.json"
    assert str(pointer) in message and "incomplete or gone" in message
    assert f"Delete {pointer}" in message and "--no-resume" in message
