"""The stage-2 ablations: each variant is the base with one change, trained, scored and tabled."""
import json

import numpy as np
import yaml

from p2m_model.training.ablations import (
    VARIANTS,
    curve_table,
    main,
    run_variant,
    scored_views,
    validation_curve,
    variant_config,
)
from p2m_model.training.meshnet_stage import MeshNetStageConfig
from tests.model.test_meshnet_stage import _config


def write_history(run_dir, records):
    run_dir.mkdir(parents=True)
    (run_dir / "history.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))


def test_validation_curve_keeps_validations_and_the_later_of_a_repeated_step(tmp_path):
    write_history(tmp_path / "gcn", [
        {"step": 25, "loss": 2.5},
        {"step": 250, "split": "val", "mpvpe_mm": 330.0, "pa_mpjpe_mm": 250.0},
        {"step": 500, "split": "val", "mpvpe_mm": 290.0, "pa_mpjpe_mm": 200.0},
        {"step": 500, "config_changed": {"optim.steps": [500, 1000]}},
        # killed after validating 500, resumed from an earlier state: 500 validated again
        {"step": 500, "split": "val", "mpvpe_mm": 288.0, "pa_mpjpe_mm": 199.0},
    ])
    assert validation_curve(tmp_path / "gcn") == {250: 330.0, 500: 288.0}


def test_curve_table_has_a_column_per_validated_step_and_blanks_where_a_run_has_none():
    lines = curve_table({"gcn": {250: 330.04, 500: 288.0}, "fc": {250: 267.0}})
    assert lines[0] == "| variant | step 250 | step 500 |"
    assert lines[1] == "| --- | --- | --- |"
    assert lines[2] == "| gcn | 330.0 | 288.0 |"
    assert lines[3] == "| fc | 267.0 |  |"


def test_each_variant_changes_one_thing_of_the_base(tmp_path, toy_asset, make_mesh_bank):
    base = _config(tmp_path, toy_asset, make_mesh_bank, 10)
    base.model.meshnet.pose_anchor = True
    meshnets = {name: variant_config(base, name).model.meshnet for name in VARIANTS}
    assert meshnets["gcn"] == base.model.meshnet
    assert meshnets["2d"].inputs == "2d" and not meshnets["2d"].pose_anchor
    assert meshnets["3d"].inputs == "3d" and meshnets["3d"].pose_anchor
    assert not meshnets["no_anchor"].pose_anchor and meshnets["no_anchor"].inputs == "2d+3d"
    assert meshnets["fc"].variant == "fc"
    # toy base: output level 2, levels 2..3; direct jumps from the coarsest straight to level 2
    assert (meshnets["direct"].variant, meshnets["direct"].direct_jump_level) == ("direct_upsampling", 3)


def test_variants_train_score_and_make_the_page_once_all_are_done(tmp_path, toy_asset, make_mesh_bank,
                                                                  monkeypatch, capsys):
    _config(tmp_path, toy_asset, make_mesh_bank, 20)
    config_path = tmp_path / "meshnet.yaml"
    config = yaml.safe_load(config_path.read_text())
    config["model"]["meshnet"]["pose_anchor"] = True
    config_path.write_text(yaml.safe_dump(config))
    base = MeshNetStageConfig.from_yaml(config_path)
    assert base.model.meshnet.pose_anchor
    test_bank = make_mesh_bank(toy_asset, 48, 2)
    test_bank.save(tmp_path / "test.npz")
    output = tmp_path / "ablations"
    views, source_names = scored_views(test_bank), list(test_bank.sources)
    result = run_variant("fc", base, output, toy_asset, views, source_names, progress=False)
    assert result["samples"] == 48 and result["steps"] == 20 and result["changes"] == {"variant": "fc"}
    assert np.isfinite([result["mpvpe_mm"], result["roughness_ratio"], result["activation_mb"]]).all()
    assert validation_curve(output / "fc") == {20: result_at_last_validation(output / "fc")}
    # a scored variant is read back, not retrained
    (output / "fc" / "state.pt").unlink()
    assert run_variant("fc", base, output, toy_asset, views, source_names, progress=False) == result

    monkeypatch.setattr("p2m_model.training.ablations.BodyModelAsset.load", lambda: toy_asset)
    table = tmp_path / "ablations.md"
    arguments = ["--config", str(config_path), "--steps", "20", "--validate-every", "10", "--output", str(output),
                 "--test-bank", str(tmp_path / "test.npz"), "--table", str(table), "--no-progress"]
    assert main([*arguments, "--variants", "gcn", "2d"]) == 0
    assert not table.exists() and "the page waits for 3d, direct, no_anchor" in capsys.readouterr().out
    assert main([*arguments, "--variants", "3d", "direct", "no_anchor"]) == 0
    page = table.read_text()
    assert "trained for 20 steps of batch 16 (320 samples)" in page and "the 48 people" in page
    results = json.loads((output / "results.json").read_text())
    assert list(results) == list(VARIANTS)
    # every variant timed when the page is written
    assert all(result["inference_ms_batch1"] > 0 for result in results.values())
    assert f"| fc | {results['fc']['mpjpe_mm']:.1f} |" in page
    assert "| variant | step 10 | step 20 |" in page.split("## Validation MPVPE")[1]


def result_at_last_validation(run_dir):
    records = [json.loads(line) for line in (run_dir / "history.jsonl").read_text().splitlines()]
    return [r for r in records if r.get("split") == "val"][-1]["mpvpe_mm"]
