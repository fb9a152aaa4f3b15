"""Rendering: the passes' IR -> Python text, through the backend's Jinja2 templates, then black."""
