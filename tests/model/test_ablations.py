"""The ablation page: validation curves read from run histories, and the Markdown it writes."""
import json

from p2m_model.training.ablations import VARIANTS, curve_table, markdown_table, validation_mpjpe


def write_history(run_dir, records):
    run_dir.mkdir(parents=True)
    (run_dir / "history.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))


def test_validation_mpjpe_keeps_validations_and_the_later_of_a_repeated_step(tmp_path):
    write_history(tmp_path / "gcn", [
        {"step": 25, "loss": 2.5},
        {"step": 250, "split": "val", "mpjpe_mm": 330.0, "pa_mpjpe_mm": 250.0},
        {"step": 500, "split": "val", "mpjpe_mm": 290.0, "pa_mpjpe_mm": 200.0},
        {"step": 500, "config_changed": {"optim.steps": [500, 1000]}},
        # killed after validating 500, resumed from an earlier state: 500 validated again
        {"step": 500, "split": "val", "mpjpe_mm": 288.0, "pa_mpjpe_mm": 199.0},
    ])
    assert validation_mpjpe(tmp_path / "gcn") == {250: 330.0, 500: 288.0}


def test_curve_table_has_a_column_per_validated_step_and_blanks_where_a_run_has_none():
    lines = curve_table({"gcn": {250: 330.04, 500: 288.0}, "fc": {250: 267.0}})
    assert lines[0] == "| variant | step 250 | step 500 |"
    assert lines[1] == "| --- | --- | --- |"
    assert lines[2] == "| gcn | 330.0 | 288.0 |"
    assert lines[3] == "| fc | 267.0 |  |"


def test_markdown_table_ends_with_the_curves(tmp_path):
    results = {name: {"mpjpe_mm": 100.0 + i, "pa_mpjpe_mm": 50.0 + i, "mpvpe_mm": 120.0 + i,
                      "parameters": 4_000_000, "inference_ms_batch1": 8.0, "activation_mb": 190.0,
                      "steps": 1000, "batch_size": 32, "samples": 1024}
               for i, name in enumerate(VARIANTS)}
    curves = {name: {250: 300.0 + i, 1000: 200.0 + i} for i, name in enumerate(VARIANTS)}
    page = markdown_table(results, "python -m p2m_model.training.ablations ...", curves)
    assert "Every variant: 1000 steps of batch 32" in page
    assert "| fc | 101.0 | 51.0 | 121.0 | 4.00 M |" in page
    tail = page.split("## Validation MPJPE during training")[1]
    assert "| variant | step 250 | step 1000 |" in tail
    assert "| direct | 302.0 | 202.0 |" in tail
