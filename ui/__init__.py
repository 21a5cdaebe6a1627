"""The staff web app (Streamlit): chat with sources, the catalog, the evaluation dashboard.

``streamlit_app.py`` at the repository root is the entry point; each ``*_page.py`` here is one
page script. Start it with ``dyag app`` (see :mod:`cli.webapp`).
"""
