"""Writes of widgets: sessions, the widget, templates, activations, end-user connections."""
