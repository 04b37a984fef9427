"""notebooks/two_layer_net.ipynb runs from top to bottom on real MNIST, its asserts passing.

The notebook asserts every threshold it prints (the seed's numbers, 97.4 %
validation, 96.3 % test). It runs with CATTERN_QUICK=1, which shrinks the
search to one configuration, in a fresh folder whose mnist_data/ links to
the real MNIST files.
"""
from pathlib import Path

import pytest

from test_seed_cells import MNIST_DIR, link_mnist

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "two_layer_net.ipynb"


def test_notebook_has_the_seeds_sections_in_order():
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    text = "\n".join(cell.source for cell in nb.cells)
    order = ["init_toy_model", "correct_scores", "correct_loss = 1.30378789133", "eval_numerical_gradient",
             "num_iters=100", "read_data_sets('mnist_data')", "show_mnist_image(X_train[:36])",
             "learning_rate_decay=1.0", "stats_LRDecay = net.train", "label='with_fixed_LR'",
             "show_net_weights(net)", "run_search", "show_net_weights(best_net)", "best_net.predict(X_test)"]
    positions = [text.index(marker) for marker in order]
    assert positions == sorted(positions)
    assert all(not cell.get("outputs") for cell in nb.cells if cell.cell_type == "code")
    assert sum(cell.cell_type == "markdown" for cell in nb.cells) >= 12


@pytest.mark.mnist
@pytest.mark.slow
@pytest.mark.skipif(not MNIST_DIR.is_dir(), reason=f"no MNIST files in {MNIST_DIR}")
def test_notebook_executes_with_its_asserts(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    link_mnist(tmp_path)
    monkeypatch.setenv("CATTERN_QUICK", "1")
    monkeypatch.setenv("CATTERN_DATA_DIR", str(tmp_path / "empty-cache"))  # the files come from ./mnist_data
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=900, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, with the failing cell, if an assert fails

    outputs = "".join(out.get("text", "") for cell in nb.cells if cell.cell_type == "code"
                      for out in cell.get("outputs", []))
    assert "Validation accuracy: " in outputs and "Test accuracy: " in outputs
    images = sum("image/png" in out.get("data", {}) for cell in nb.cells for out in cell.get("outputs", []))
    assert images == 5  # toy loss, digits, curves, weights, best weights
