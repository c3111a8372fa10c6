"""A trained model as a file other runtimes run: ONNX or TorchScript, checked against PyTorch.

* :mod:`~ganrestore.export.exporter`: ``ganrestore export`` (:func:`export_model`): trace a
  model's generator on inputs its task packs, check the file against PyTorch, write it
  atomically with the model's record in its metadata;
* :mod:`~ganrestore.export.graph`: what an exported graph is and how its record travels;
  :mod:`~ganrestore.export.onnx_graph` and :mod:`~ganrestore.export.torchscript_graph` write
  and open the two formats;
* :mod:`~ganrestore.export.exported`: an exported file as a restorer (``apply --model
  FILE.onnx``), tiled and composed by its task like the model it came from.

Export builds on inference (the restorer, its tiling and the model file) and inference never
imports it at module level: :func:`ganrestore.inference.bundled.resolve_model` opens an exported
file through :mod:`~ganrestore.export.exported` only when it is given one.
"""
