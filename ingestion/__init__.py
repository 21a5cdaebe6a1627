"""Catalog loading, normalisation, chunking, indexing and synthetic datasets."""
