"""Dyag's staff web app. Start it with ``dyag app --workdir DIR`` (binds 127.0.0.1), or:

    streamlit run streamlit_app.py --server.address 127.0.0.1 -- --workdir DIR

The pages live in :mod:`ui`; this file only declares them.
"""

from pathlib import Path

import streamlit as st

import ui

PAGES = Path(ui.__file__).parent

st.set_page_config(page_title="Dyag", page_icon="💬", layout="wide")
navigation = st.navigation(
    [
        st.Page(PAGES / "chat_page.py", title="Chat", icon=":material/chat:", url_path="chat", default=True),
        st.Page(PAGES / "catalog_page.py", title="Catalogue", icon=":material/folder_open:", url_path="catalogue"),
        st.Page(PAGES / "eval_page.py", title="Évaluation", icon=":material/analytics:", url_path="evaluation"),
    ]
)
navigation.run()
