"""See the network think: a local page to draw a digit and watch a trained net classify it.

- :mod:`cattern.web.app`: the Starlette app (page, model info, test digits, prediction API)
- :mod:`cattern.web.payload`: what the prediction API accepts, checked
- :mod:`cattern.web.explain`: hidden units that fire most, training curves
- :mod:`cattern.web.server`: uvicorn in the foreground, or in a thread
- ``static/``: the page itself, plain HTML, CSS and JavaScript, no build step

Starlette and uvicorn, which it runs on, are core dependencies: the plain
``pip install -e .`` serves the page.
``cattern serve`` is the command line; in Python::

    from cattern.model_io import load_model
    from cattern.web.app import create_app
    from cattern.web.server import background

    with background(create_app(load_model("runs/model.npz"))) as url:
        print("open", url)
"""
