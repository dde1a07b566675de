"""Wires the Qt GUI: builds the main window and hands it the services."""
