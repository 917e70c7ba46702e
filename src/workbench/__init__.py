"""The data design workbench: one schema model, many views, measured answers."""
