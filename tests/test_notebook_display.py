"""What a stored notebook keeps: run cells in a real kernel (nbclient, as ``nbconvert --execute`` does).

A progress bar must be stored in its final state (an untrusted notebook shows only that text), a
panel as a live widget plus a static HTML view with PNG pictures, a schema as SVG plus PNG.
"""

from __future__ import annotations

import base64

import nbformat
from nbclient import NotebookClient

CELLS = [
    "from workbench.progress import tqdm\nfor _ in tqdm(range(5), desc='work'):\n    pass",
    "import workbench as wb\ns = wb.sketch('shop')\ns.table('customers', id='serial pk')\n"
    "s.table('orders', id='serial pk', customer_id='-> customers')\nshop = s.build()\nshop",
    "wb.explore(shop, table='orders')",
]


def test_bars_panels_and_pictures_as_stored(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code) for code in CELLS])
    NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}},
                   store_widget_state=False).execute()
    bar, schema, panel = (cell.outputs for cell in notebook.cells)
    assert len(bar) == 1 and bar[0].data["text/plain"].startswith("work: 100%|")
    assert "application/vnd.jupyter.widget-view+json" in bar[0].data
    assert base64.b64decode(schema[0].data["image/png"]).startswith(b"\x89PNG")
    assert schema[0].data["image/svg+xml"].lstrip().startswith("<?xml")
    data = panel[0].data
    assert "application/vnd.jupyter.widget-view+json" in data and data["text/plain"].startswith("<SchemaPanel")
    assert 'src="data:image/png;base64,' in data["text/html"] and "<svg" not in data["text/html"]
