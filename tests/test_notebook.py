"""notebooks/quickstart.ipynb runs top to bottom, headless, as a user's Colab would."""

import nbformat
from nbclient import NotebookClient

from conftest import ROOT


def test_quickstart_notebook_runs_end_to_end(tmp_path):
    notebook = nbformat.read(ROOT / "notebooks" / "quickstart.ipynb", as_version=4)
    NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    outputs = [
        "".join(o.get("text", "") for o in cell.get("outputs", []))
        for cell in notebook.cells
        if cell.cell_type == "code"
    ]
    text = "\n".join(outputs)
    assert "keras_rawaudio" in outputs[0]
    assert "wrote train" in text  # make_tfrecords ran
    assert "'mAP'" in text and "float32 " in text and "predicted:" in text
    assert "lowest channels:" in text and "events, the first:" in text
    mAP = float(text.split("'mAP': ")[1].split(",")[0])
    assert mAP > 0.5, text  # five classes, chance is far below
