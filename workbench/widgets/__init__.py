"""ipywidgets views over the package: thin forms and browsers, tested by setting values."""
